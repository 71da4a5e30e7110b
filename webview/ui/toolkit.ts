// The only file that knows about @vscode/webview-ui-toolkit. The rest of the panel asks for a
// button, a dropdown, tabs or a tag here and gets plain DOM elements back, so the toolkit (deprecated
// upstream in January 2025) can be swapped for another component set by rewriting this file alone.
//
// Only the components used are registered. Not used on purpose: vscode-tag, vscode-badge and
// vscode-progress-ring, whose templates hold a `style` attribute, which the panel's CSP refuses
// (the browser reports it even though FAST removes it); tag() draws the toolkit's tag in CSS.

import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
} from '@vscode/webview-ui-toolkit';

let registered = false;

/** Defines the custom elements once; call before creating any of them. */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodePanels(), vsCodePanelTab(), vsCodePanelView());
}

export interface ButtonOptions {
  label: string;
  /** Accessible name when the label alone is not enough (an icon button). */
  ariaLabel?: string;
  title?: string;
  appearance?: 'primary' | 'secondary' | 'icon';
  onClick: () => void;
  id?: string;
}

export function button(o: ButtonOptions): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = o.label;
  b.setAttribute('appearance', o.appearance ?? 'secondary');
  if (o.ariaLabel) b.setAttribute('aria-label', o.ariaLabel);
  if (o.title) b.title = o.title;
  if (o.id) b.id = o.id;
  b.addEventListener('click', () => {
    if (!b.hasAttribute('disabled')) o.onClick();
  });
  return b;
}

export function setDisabled(control: HTMLElement, disabled: boolean): void {
  control.toggleAttribute('disabled', disabled);
}

export interface DropdownOptions {
  id: string;
  /** Visible label, tied to the control for screen readers. */
  label: string;
  options: Array<{ value: string; label: string }>;
  value: string;
  onChange: (value: string) => void;
}

/** A labelled dropdown: returns the wrapper (label + control) and the control itself. */
export function dropdown(o: DropdownOptions): { element: HTMLElement; control: HTMLElement } {
  const wrap = document.createElement('div');
  wrap.className = 'field';
  const label = document.createElement('label');
  label.htmlFor = o.id;
  label.textContent = o.label;
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  d.id = o.id;
  d.setAttribute('aria-label', o.label);
  for (const opt of o.options) {
    const option = document.createElement('vscode-option');
    option.setAttribute('value', opt.value);
    option.textContent = opt.label;
    if (opt.value === o.value) option.setAttribute('selected', '');
    d.append(option);
  }
  d.dataset.value = o.value;
  d.addEventListener('change', () => {
    if (d.value !== d.dataset.value) {
      d.dataset.value = d.value;
      o.onChange(d.value);
    }
  });
  setDisabled(d, o.options.length < 2);
  wrap.append(label, d);
  return { element: wrap, control: d };
}

export interface Tab {
  id: string;
  label: string;
  view: HTMLElement;
}

/** Tabs: the toolkit's panels. `onChange` gets the id of the tab shown. */
export function panels(tabs: Tab[], active: string, onChange: (id: string) => void): HTMLElement {
  const p = document.createElement('vscode-panels') as HTMLElement & { activeid: string; activeindicator: boolean };
  p.setAttribute('aria-label', 'Sections');
  // FAST slides its indicator between tabs and moves it on `transitionend`; a tab chosen before the
  // page is laid out (as a restored one is) never gets that event and leaves the line under the
  // wrong tab. panel.css underlines the selected tab instead.
  p.activeindicator = false;
  p.setAttribute('activeid', `tab-${active}`);
  for (const t of tabs) {
    const tab = document.createElement('vscode-panel-tab');
    tab.id = `tab-${t.id}`;
    tab.textContent = t.label;
    p.append(tab);
  }
  for (const t of tabs) {
    const view = document.createElement('vscode-panel-view');
    view.id = `view-${t.id}`;
    view.append(t.view);
    p.append(view);
  }
  p.addEventListener('change', (e) => {
    if (e.target !== p) return; // a dropdown inside a view also fires `change`
    const id = (p.activeid ?? '').replace(/^tab-/, '');
    if (id) onChange(id);
  });
  return p;
}

/** Shows a tab of panels() without a `change` event (restoring a saved choice). */
export function selectTab(tabs: HTMLElement, id: string): void {
  (tabs as HTMLElement & { activeid: string }).activeid = `tab-${id}`;
}

/** A small label (status), looking like the toolkit's vscode-tag. */
export function tag(text: string, className?: string): HTMLElement {
  const t = document.createElement('span');
  t.className = className ? `tag ${className}` : 'tag';
  t.textContent = text;
  return t;
}
