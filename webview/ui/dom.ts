// Building DOM without innerHTML: every text goes in as text, so a token such as "<script>" from the
// user's file is shown, never parsed. Attributes are set one by one (never `style`, which the CSP
// refuses; sizes and positions go through element.style, which it allows).

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  id?: string;
  text?: string;
  title?: string;
  role?: string;
  /** Other attributes: aria-*, data-*, tabindex, for... */
  attrs?: Record<string, string | number>;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  apply(e, props);
  append(e, children);
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  append(e, children);
  return e;
}

function apply(e: Element, props: Props): void {
  if (props.class) e.setAttribute('class', props.class);
  if (props.id) e.id = props.id;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.title) e.setAttribute('title', props.title);
  if (props.role) e.setAttribute('role', props.role);
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) e.setAttribute(k, String(v));
}

function append(e: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c);
  }
}
