// Units: what a unit does, found from the text. The selection's units (on across it: LSTMVis's
// rule) and every other place they are on together, a click away in the editor; the threshold,
// the state, layer and direction and "off before / after" change the answer at once (the host
// keeps the states; only the query runs again). The tracks' leaders: the units that follow the
// column, the indent, the bracket depth, quotes and words most closely, each a click away from
// colouring the editor. Intervene: a unit clamped, before and after side by side.

import type { PanelToHost } from '../../src/protocol/panel';
import type { MatchQueryMessage, StatesChoice, UnitsClamp, UnitsMessage } from '../../src/protocol/units';
import { showToken } from '../format';
import { fieldNumber, fieldProblem } from '../numberField';
import { el } from '../ui/dom';
import { button, dropdown } from '../ui/toolkit';
import type { Of } from '../unitsState';
import { placeholder, type SectionContext } from './context';

/** The default threshold when the state changes (h lies in (-1, 1); c is unbounded): the host's DEFAULT_THRESHOLD. */
const THRESHOLD: Record<'h' | 'c', number> = { h: 0.5, c: 1 };

const TRACK_TITLES: Record<string, string> = {
  column: 'column (characters since the line began)',
  indent: 'indent (spaces and tabs that begin the line)',
  bracket_depth: 'bracket depth ( [ {',
  in_quotes: 'inside "double quotes" on the line',
  in_word: 'inside a word (letter or digit)',
};

/** The Units tab's controls that keep their focus across redraws, per view. */
interface Controls {
  root: HTMLElement;
  threshold: HTMLInputElement;
  offBefore: HTMLInputElement;
  offAfter: HTMLInputElement;
  choiceKey: string;
  choiceRow: HTMLElement;
  clampUnit: HTMLInputElement;
  clampValue: HTMLInputElement;
  clampState: HTMLSelectElement;
  clampLayer: HTMLInputElement;
  /** The clamp's controls and its before/after, drawn after the results: select, match, then intervene. */
  intervene: HTMLElement;
  compared: HTMLElement;
}
const controlsOf = new WeakMap<HTMLElement, Controls>();

function numberInput(id: string, label: string, value: number, step: string, min?: number): { wrap: HTMLElement; input: HTMLInputElement } {
  const input = el('input', { id, attrs: { type: 'number', step, ...(min === undefined ? {} : { min }), 'aria-label': label } });
  input.value = String(value);
  input.className = 'units-number';
  const wrap = el('div', { class: 'field' }, el('label', { text: label, attrs: { for: id } }), input);
  return { wrap, input };
}

function readQuery(c: Controls): MatchQueryMessage | null {
  const threshold = fieldNumber(c.threshold);
  const offBefore = fieldNumber(c.offBefore, 0);
  const offAfter = fieldNumber(c.offAfter, 0);
  const count = (x: number | null): x is number => x !== null && Number.isInteger(x) && x >= 0 && x <= 1000;
  fieldProblem(c.threshold, threshold === null ? 'not a number: type one, such as 0.5' : null);
  fieldProblem(c.offBefore, count(offBefore) ? null : 'a whole number from 0 to 1000');
  fieldProblem(c.offAfter, count(offAfter) ? null : 'a whole number from 0 to 1000');
  if (threshold === null || !count(offBefore) || !count(offAfter)) return null;
  return { threshold, offBefore, offAfter };
}

function makeControls(view: HTMLElement, ctx: SectionContext, result: UnitsMessage): Controls {
  const post = (m: PanelToHost): void => ctx.post?.(m);
  const q = result.query;
  const threshold = numberInput('units-threshold', 'Threshold (on: state ≥)', q.threshold, '0.05');
  const offBefore = numberInput('units-off-before', 'Off before (tokens)', q.offBefore, '1', 0);
  const offAfter = numberInput('units-off-after', 'Off after (tokens)', q.offAfter, '1', 0);
  const choiceRow = el('div', { class: 'units-row' });
  const root = el('div', { class: 'units-controls' }, choiceRow, el('div', { class: 'units-row' }, threshold.wrap, offBefore.wrap, offAfter.wrap));
  const clampState = el('select', { id: 'units-clamp-state', attrs: { 'aria-label': 'Clamped state' } });
  for (const s of ['h', 'c']) clampState.append(el('option', { text: s, attrs: { value: s } }));
  const clampLayer = numberInput('units-clamp-layer', 'Layer', 0, '1', 0);
  const clampUnit = numberInput('units-clamp-unit', 'Unit', result.units[0] ?? 0, '1', 0);
  const clampValue = numberInput('units-clamp-value', 'Value', 0, '0.1');
  const intervene = el('div', { class: 'units-clamp' });
  const compared = el('div', { class: 'units-compared' });
  const c: Controls = { intervene, compared, root, threshold: threshold.input, offBefore: offBefore.input, offAfter: offAfter.input, choiceKey: '', choiceRow, clampUnit: clampUnit.input, clampValue: clampValue.input, clampState, clampLayer: clampLayer.input };
  let timer: ReturnType<typeof setTimeout> | null = null;
  const send = (): void => {
    const query = readQuery(c);
    const r = ctx.store.units.result;
    if (!query || !r) return;
    post({ type: 'unitsQuery', choice: r.choice, query });
  };
  for (const input of [threshold.input, offBefore.input, offAfter.input]) {
    input.addEventListener('input', () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(send, 120);
    });
  }
  const clampOf = (): UnitsClamp | null => {
    // Within the model the tab shows: a unit below H, a layer below its layers.
    const r = ctx.store.units.result;
    const H = r?.H ?? Number.MAX_SAFE_INTEGER, layers = r?.layers ?? Number.MAX_SAFE_INTEGER;
    const unit = fieldNumber(c.clampUnit), value = fieldNumber(c.clampValue), layer = fieldNumber(c.clampLayer);
    const within = (x: number | null, n: number): x is number => x !== null && Number.isInteger(x) && x >= 0 && x < n;
    fieldProblem(c.clampUnit, within(unit, H) ? null : `a unit from 0 to ${H - 1}`);
    fieldProblem(c.clampLayer, within(layer, layers) ? null : `a layer from 0 to ${layers - 1}`);
    fieldProblem(c.clampValue, value === null ? 'not a number: type one, such as 0 or -1.5' : null);
    if (!within(unit, H) || !within(layer, layers) || value === null) return null;
    return { state: c.clampState.value === 'c' ? 'c' : 'h', layer, unit, value };
  };
  intervene.append(
    el('h3', { text: 'Intervene: clamp a unit' }),
    el('p', { class: 'hint', text: 'Hold one unit at a constant at every step (as --clamp does): the top predictions at the cursor, the loss on the text before it and a continuation with the same seed, before and after.' }),
    el('div', { class: 'units-row' }, el('div', { class: 'field' }, el('label', { text: 'State', attrs: { for: 'units-clamp-state' } }), clampState), clampLayer.wrap, clampUnit.wrap, clampValue.wrap),
    el(
      'div',
      { class: 'units-row' },
      button({ label: 'Compare at cursor', appearance: 'primary', id: 'units-compare', onClick: () => { const k = clampOf(); if (k) post({ type: 'unitsCompare', clamp: k }); } }),
      button({ label: 'Zero it', id: 'units-zero', title: 'Clamp to 0 and compare', onClick: () => { c.clampValue.value = '0'; const k = clampOf(); if (k) post({ type: 'unitsCompare', clamp: k }); } }),
      button({ label: 'Generate with clamp: on', id: 'units-clamp-on', title: 'Generate Text at Cursor holds this clamp (shown in the status bar)', onClick: () => { const k = clampOf(); if (k) post({ type: 'unitsClampOn', clamp: k }); } }),
      button({ label: 'Off', id: 'units-clamp-off', onClick: () => post({ type: 'unitsClampOn', clamp: null }) }),
    ),
  );
  view.append(root);
  controlsOf.set(view, c);
  return c;
}

function choiceControls(c: Controls, ctx: SectionContext, r: UnitsMessage): void {
  const key = `${r.choice.state}:${r.choice.layer}:${r.choice.direction}:${r.layers}:${r.directions}`;
  if (c.choiceKey === key) return;
  c.choiceKey = key;
  const send = (choice: StatesChoice): void => {
    const query = readQuery(c) ?? r.query;
    // A new state kind starts from its own default threshold.
    if (choice.state !== r.choice.state) {
      query.threshold = THRESHOLD[choice.state];
      c.threshold.value = String(query.threshold);
    }
    ctx.post?.({ type: 'unitsQuery', choice, query });
  };
  const cur = (): StatesChoice => ctx.store.units.result?.choice ?? r.choice;
  c.choiceRow.replaceChildren(
    dropdown({ id: 'units-state', label: 'State', options: [{ value: 'h', label: 'h (hidden)' }, { value: 'c', label: 'c (cell)' }], value: r.choice.state, onChange: (v) => send({ ...cur(), state: v === 'c' ? 'c' : 'h' }) }).element,
    dropdown({ id: 'units-layer', label: 'Layer', options: Array.from({ length: r.layers }, (_, k) => ({ value: String(k), label: String(k) })), value: String(r.choice.layer), onChange: (v) => send({ ...cur(), layer: Number(v) }) }).element,
    dropdown({ id: 'units-direction', label: 'Direction', options: (r.directions === 2 ? ['forward', 'backward'] : ['forward']).map((d) => ({ value: d, label: d })), value: r.choice.direction, onChange: (v) => send({ ...cur(), direction: v === 'backward' ? 'backward' : 'forward' }) }).element,
  );
}

function unitButton(unit: number, ctx: SectionContext, label: string, title: string): HTMLElement {
  const on = ctx.store.units.colour === unit;
  const b = el('button', { class: on ? 'units-unit on' : 'units-unit', text: label, title, attrs: { type: 'button', 'aria-pressed': on ? 'true' : 'false', 'data-unit': unit } });
  b.addEventListener('click', () => ctx.post?.({ type: 'unitsColour', unit: on ? null : unit }));
  return b;
}

export function renderUnits(view: HTMLElement, ctx: SectionContext): void {
  const s = ctx.store.units;
  let c = controlsOf.get(view);
  const results = view.querySelector<HTMLElement>(':scope > .units-results') ?? el('div', { class: 'units-results' });
  if (!view.querySelector(':scope > h2')) view.prepend(el('h2', { text: 'Units' }));
  results.replaceChildren();
  if (s.progress) results.append(el('p', { class: 'units-progress', role: 'status', text: `Reading ${s.progress.file}: ${s.progress.done.toLocaleString('en-US')} of ${s.progress.total.toLocaleString('en-US')} tokens…` }));
  if (s.error) results.append(el('p', { class: 'units-error', role: 'alert', text: s.error }));
  const r = s.result;
  if (!r) {
    if (!s.progress) results.append(placeholder('Select a stretch of text in the editor and run “LSTM Lens: Find Units Active in Selection” (command palette or the editor’s context menu): the units on across it, and every other place they are on together.'));
    view.append(results);
    return;
  }
  if (!c) c = makeControls(view, ctx, r);
  choiceControls(c, ctx, r);
  // The values the host answered, unless the user is typing in them.
  for (const [input, value] of [[c.threshold, r.query.threshold], [c.offBefore, r.query.offBefore], [c.offAfter, r.query.offAfter]] as const) {
    if (document.activeElement !== input && Number(input.value) !== value) input.value = String(value);
  }
  const { choice } = r;
  results.append(
    el('p', { class: 'units-summary', attrs: { 'data-threshold': r.query.threshold, 'data-count': r.count, 'data-units': r.units.length }, text: `${choice.state} of layer ${choice.layer} (${choice.direction}) of ${r.file} at step ${r.step}: ${r.T.toLocaleString('en-US')} tokens × ${r.H} units, read in ${Math.round(r.statesMs)} ms${r.live ? ' (read again while the model trains)' : ''}; the query took ${r.queryMs.toFixed(1)} ms.` }),
  );
  if (!r.selection) results.append(el('p', { class: 'units-none', text: 'No selection: select a stretch of text in the editor and run “LSTM Lens: Find Units Active in Selection” again (an edit inside the last selection clears it).' }));
  else {
    const sel = r.selection;
    results.append(el('p', { class: 'units-selection' }, `Selection (line ${sel.line + 1}, tokens ${sel.tokens[0]}–${sel.tokens[1] - 1}): `, el('code', { text: showToken(sel.text) })));
    if (r.units.length === 0) results.append(el('p', { class: 'units-none', text: `No unit is on (${choice.state} ≥ ${r.query.threshold}) across the whole selection${r.query.offBefore || r.query.offAfter ? ' and off around it' : ''}: lower the threshold, or select less.` }));
    else {
      const list = el('div', { class: 'units-list', attrs: { 'aria-label': 'Units on across the selection' } }, el('span', { text: `${r.units.length} unit${r.units.length === 1 ? '' : 's'} on: ` }));
      for (const u of r.units.slice(0, 64)) list.append(unitButton(u, ctx, String(u), `Colour the editor by unit ${u}`));
      if (r.units.length > 64) list.append(el('span', { text: ` … and ${r.units.length - 64} more` }));
      results.append(list);
      results.append(el('h3', { text: `Matches: ${r.count}${r.count > r.matches.length ? ` (the ${r.matches.length} longest listed)` : ''}, longest first` }));
      const ol = el('ol', { class: 'units-matches' });
      for (const m of r.matches) {
        const b = el('button', { class: 'units-match', attrs: { type: 'button', 'data-start': m.start, 'data-end': m.end }, title: `Show characters ${m.start}–${m.end} in the editor` }, el('span', { class: 'units-line', text: `line ${m.line + 1}` }), el('code', { text: showToken(m.text) }));
        b.addEventListener('click', () => ctx.post?.({ type: 'unitsJump', start: m.start, end: m.end }));
        ol.append(el('li', {}, b));
      }
      results.append(ol);
    }
  }
  if (s.leaders) {
    results.append(el('h3', { text: 'Tracks: the units that follow each most closely (Pearson r over all tokens)' }));
    const table = el('table', { class: 'units-leaders' });
    for (const t of s.leaders.tracks) {
      // r = 0 where a side is constant (a text without brackets has bracket depth 0 throughout): no unit follows it.
      const following = t.leaders.filter((l) => l.r !== 0);
      if (following.length === 0) {
        table.append(el('tr', {}, el('th', { text: t.name, title: TRACK_TITLES[t.name] ?? t.name, attrs: { scope: 'row' } }), el('td', { class: 'units-constant', text: 'the same at every token of this text: no unit follows it' })));
        continue;
      }
      const cells = following.map((l) => el('td', {}, unitButton(l.unit, ctx, `${l.unit} (r ${l.r >= 0 ? '+' : ''}${l.r.toFixed(2)})`, `Colour the editor by unit ${l.unit}`)));
      table.append(el('tr', {}, el('th', { text: t.name, title: TRACK_TITLES[t.name] ?? t.name, attrs: { scope: 'row' } }), ...cells));
    }
    results.append(table);
  }
  if (s.colour !== null) {
    const clear = button({ label: 'Clear colouring', id: 'units-clear-colour', onClick: () => ctx.post?.({ type: 'unitsColour', unit: null }) });
    results.append(el('div', { class: 'units-row' }, el('span', { text: `The editor is coloured by unit ${s.colour} (${choice.state}, layer ${choice.layer}): red above 0, blue below. ` }), clear));
  }
  view.append(results);
  c.compared.replaceChildren();
  if (s.clampOn) c.compared.append(el('p', { class: 'units-clamp-on', role: 'status', text: `Generate Text at Cursor holds ${s.clampOn.state}:${s.clampOn.layer}:${s.clampOn.unit}=${s.clampOn.value}.` }));
  if (s.compare) c.compared.append(compareView(s.compare));
  view.append(c.intervene, c.compared);
}

function compareView(m: Of<'unitsCompare'>): HTMLElement {
  const side = (title: string, o: Of<'unitsCompare'>['before']): HTMLElement =>
    el(
      'div',
      { class: 'units-side' },
      el('h4', { text: title }),
      el('p', { text: `loss ${o.loss === null ? '—' : o.loss.toFixed(4)}` }),
      el('ol', { class: 'units-top' }, ...o.top.map((g) => el('li', {}, el('code', { text: showToken(g.token) }), ` ${(100 * g.p).toFixed(1)}%`))),
      el('pre', { class: 'units-generated', text: o.generated }),
    );
  const k = m.clamp;
  return el(
    'div',
    { class: 'units-compare', attrs: { 'aria-label': 'Before and after the clamp' } },
    el('h3', { text: `Before and after ${k.state}:${k.layer}:${k.unit}=${k.value}, at ${m.at}` }),
    el('div', { class: 'units-sides' }, side('Before', m.before), side(`After (${k.state}[${k.unit}] = ${k.value})`, m.after)),
  );
}
