// The Inspect States panel: the page's frame (heading, notes, controls, tabs) and the loop that
// turns messages into drawing. Messages only update the store; one requestAnimationFrame callback
// draws whatever is latest, so a burst of traces costs one drawing (of the last).

import { checkHostToPanel } from '../src/protocol/panel';
import { ChartSet, readTheme } from './charts';
import { GpuRelay, isForGpuRelay } from './gpu/relay';
import type { Host } from './host';
import type { SectionContext } from './sections/context';
import { renderGradientNorm, renderGradients } from './sections/gradients';
import { renderPredictions } from './sections/predictions';
import { renderShapes } from './sections/shapes';
import { renderStates } from './sections/states';
import { defaultStep, renderStep } from './sections/step';
import { renderTraining } from './sections/training';
import { renderUnits } from './sections/units';
import { renderAttribution, renderTimeline } from './sections/why';
import { renderHeader, renderNotes, renderPickers } from './header';
import { ALL_PARTS, layerChoices, PanelStore, TABS, type Part, type Selection, type SequenceSource, type TabId } from './store';
import { Tooltip } from './tooltip';
import { linkColumns } from './heatmap';
import { el } from './ui/dom';
import { button, panels, selectTab, setDisabled } from './ui/toolkit';

/** What is drawn on its own: a tab's content, or part of it (the Gradients tab's last chart). */
type PaneId = Exclude<Part, 'header' | 'notes' | 'controls'>;

/** How long "Reading the sequence…" may stand without an answer from the host. */
const PENDING_TIMEOUT_MS = 10_000;

const TAB_LABELS: Record<TabId, string> = { shapes: 'Shapes', states: 'States', gradients: 'Gradients', step: 'Step', training: 'Training', predictions: 'Predictions', units: 'Units' };

const PANES: Record<PaneId, { tab: TabId; render: (view: HTMLElement, ctx: SectionContext) => void }> = {
  shapes: { tab: 'shapes', render: renderShapes },
  states: { tab: 'states', render: renderStates },
  gradients: { tab: 'gradients', render: renderGradients },
  gradnorm: { tab: 'gradients', render: renderGradientNorm },
  training: { tab: 'training', render: renderTraining },
  predictions: { tab: 'predictions', render: renderPredictions },
  step: { tab: 'step', render: renderStep },
  units: { tab: 'units', render: renderUnits },
  timeline: { tab: 'training', render: renderTimeline },
  attribution: { tab: 'predictions', render: renderAttribution },
};
const PANE_IDS = Object.keys(PANES) as PaneId[];

const SEQUENCE_BUTTONS: Array<{ source: SequenceSource; label: string; title: string }> = [
  { source: 'cursor', label: 'At cursor', title: 'Trace the text before the cursor' },
  { source: 'selection', label: 'Selection', title: 'Trace the selected text' },
  { source: 'start', label: 'Start of file', title: 'Trace the beginning of the file' },
];

/** How a run that is not running ended: all its steps, or fewer. */
export { runOutcome } from './header';

export class App {
  private readonly store = new PanelStore();
  private readonly tooltip = new Tooltip();
  private readonly panes = new Map<PaneId, { element: HTMLElement; charts: ChartSet }>();
  private readonly heading = el('h1', { id: 'title' });
  private readonly status = el('span', { class: 'status' });
  private readonly summary = el('p', { class: 'summary', id: 'summary' });
  private readonly notes = el('div', { class: 'notes', id: 'notes', attrs: { 'aria-live': 'polite' } });
  private readonly empty = el('div', { class: 'empty', id: 'empty' });
  private readonly content = el('div', { class: 'content', id: 'content' });
  private readonly sequence = el('div', { class: 'sequence', id: 'sequence' });
  private readonly pickers = el('div', { class: 'pickers', id: 'pickers' });
  private readonly selection = el('div', { class: 'selection', id: 'selection' });
  private readonly clearButton: HTMLElement;
  private readonly tabs: HTMLElement;
  private frame = 0;
  /** The unit whose memory span the host was last told to show (null: none). */
  private spanUnit: number | null = null;
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private width = 0;
  private pickersKey = '';
  /** GPU training runs in this webview: the relay between the host and the GPU worker. */
  private readonly gpu: GpuRelay;

  constructor(
    private readonly root: HTMLElement,
    private readonly host: Host,
  ) {
    this.gpu = new GpuRelay((message) => this.host.post(message));
    const sections = new Map(TABS.map((id) => [id, el('section', { class: 'section', id, attrs: { 'aria-labelledby': `tab-${id}` } })]));
    for (const id of PANE_IDS) {
      const element = el('div', { class: 'pane', attrs: { 'data-pane': id } });
      sections.get(PANES[id].tab)?.append(element);
      this.panes.set(id, { element, charts: new ChartSet() });
      linkColumns(element);
    }
    this.tabs = panels(
      TABS.map((id) => ({ id, label: TAB_LABELS[id], view: sections.get(id) as HTMLElement })),
      this.store.ui.tab,
      (id) => {
        if (!(TABS as readonly string[]).includes(id) || id === this.store.ui.tab) return;
        this.store.ui.tab = id as TabId;
        this.tooltip.hide();
        if (id === 'step') this.explainShownStep();
        this.syncSpan();
        this.scheduleSave();
      },
    );
    this.clearButton = button({ label: 'Clear', id: 'clear-highlight', title: 'Remove the highlight from the editor', onClick: () => this.clearSelection() });
    const sequenceButtons = el(
      'div',
      { class: 'sequence-buttons', role: 'group', attrs: { 'aria-label': 'Sequence to trace' } },
      ...SEQUENCE_BUTTONS.map((b) => button({ label: b.label, id: `seq-${b.source}`, title: b.title, onClick: () => this.chooseSequence(b.source) })),
    );
    root.replaceChildren(
      el('header', { class: 'top' }, el('div', { class: 'title-row' }, el('div', {}, el('div', { class: 'eyebrow', text: 'LSTM Lens' }), this.heading), this.status), this.summary),
      this.notes,
      this.empty,
      this.content,
    );
    this.content.append(
      el('div', { class: 'toolbar', id: 'controls' }, el('div', { class: 'toolbar-row' }, this.sequence, sequenceButtons), el('div', { class: 'toolbar-row' }, this.pickers, el('div', { class: 'selection-wrap' }, this.selection, this.clearButton))),
      this.tabs,
    );
    document.body.append(this.tooltip.element);
    // A token of the States or Gradients tab (its strip or a map's column label): explain that step.
    this.content.addEventListener('click', (e) => {
      const token = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-pane="states"] [data-col], [data-pane="gradients"] .token-strip [data-col]') : null;
      if (token && !token.closest('canvas')) this.pickStep(Number(token.dataset.col));
    });
    // The Step tab's arrow keys: Left and Right move through time (not inside a control that uses them).
    document.addEventListener('keydown', (e) => {
      if (this.store.ui.tab !== 'step' || (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') || e.altKey || e.ctrlKey || e.metaKey) return;
      const target = e.target instanceof Element ? e.target : null;
      if (target && (target.closest('input, select, textarea, canvas, vscode-dropdown, vscode-panel-tab') || !(target === document.body || target.closest('#step')))) return;
      const trace = this.store.trace;
      if (!trace) return;
      const t = (this.store.ui.stepT ?? defaultStep(trace)) + (e.key === 'ArrowLeft' ? -1 : 1);
      if (t < 0 || t >= trace.T) return;
      e.preventDefault();
      this.explainStep(t);
    });
  }

  /** Restores the saved state, listens, then tells the host it may post. */
  start(): void {
    if (this.store.restore(this.host.getState())) selectTab(this.tabs, this.store.ui.tab);
    window.addEventListener('message', (event: MessageEvent) => this.receive(event.data));
    this.host.post({ type: 'ready' });
    new ResizeObserver(() => {
      const w = this.contentWidth();
      if (Math.abs(w - this.width) >= 16) {
        this.store.touch('shapes', 'states', 'gradients', 'gradnorm', 'training', 'step');
        this.schedule();
      }
    }).observe(this.root);
    // A theme change: the charts take their colours from it when drawn.
    new MutationObserver(() => {
      this.store.touch('training', 'gradients', 'gradnorm', 'step');
      this.schedule();
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    this.store.touch(...ALL_PARTS);
    this.schedule();
  }

  receive(data: unknown): void {
    if (isForGpuRelay(data)) {
      this.gpu.receive(data);
      return;
    }
    const checked = checkHostToPanel(data);
    if (!checked.ok) {
      console.warn(`LSTM Lens: ignored a message from the extension (${checked.error})`);
      return;
    }
    this.store.apply(checked.message);
    if (this.store.showUnitsTab) {
      this.store.showUnitsTab = false;
      selectTab(this.tabs, 'units');
      this.scheduleSave();
    }
    if (this.store.showStepTab) {
      this.store.showStepTab = false;
      selectTab(this.tabs, 'step');
      this.scheduleSave();
    }
    this.schedule();
  }

  private pane(id: PaneId): { element: HTMLElement; charts: ChartSet } {
    const p = this.panes.get(id);
    if (!p) throw new Error(`no pane ${id}`);
    return p;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private scheduleSave(): void {
    if (this.saveTimer !== null) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.host.setState(this.store.save());
    }, 150);
  }

  private contentWidth(): number {
    return Math.max(280, this.root.clientWidth - 16);
  }

  private draw(): void {
    const dirty = new Set<Part>(this.store.dirty);
    this.store.dirty.clear();
    if (dirty.size === 0) return;
    this.width = this.contentWidth();
    const s = this.store;
    if (dirty.has('header')) this.drawHeader();
    if (dirty.has('notes')) this.drawNotes();
    const showing = !!(s.model || s.trace || s.training);
    this.content.hidden = !showing;
    this.empty.hidden = showing;
    if (!showing) this.drawEmpty();
    if (dirty.has('controls')) this.drawControls();
    this.drawSelection();
    const ctx: Omit<SectionContext, 'charts'> = {
      store: s,
      tooltip: this.tooltip,
      width: this.width,
      theme: readTheme(),
      select: (selection) => this.select(selection),
      explainStep: (t) => this.explainStep(t),
      chooseStepUnit: (unit) => this.chooseStepUnit(unit),
      post: (message) => this.host.post(message),
    };
    for (const id of PANE_IDS) {
      if (!dirty.has(id)) continue;
      const p = this.pane(id);
      p.charts.dispose();
      PANES[id].render(p.element, { ...ctx, charts: p.charts });
    }
    this.syncSpan();
    this.scheduleSave();
  }

  /** Tells the host which unit's memory span the editor shows: the Step tab's unit while the tab is shown with a trace, else none. */
  private syncSpan(): void {
    const unit = this.store.ui.tab === 'step' && this.store.trace ? this.store.ui.stepUnit : null;
    if (unit === this.spanUnit) return;
    this.spanUnit = unit;
    this.host.post({ type: 'stepSpan', unit });
  }

  private drawHeader(): void {
    renderHeader({ heading: this.heading, summary: this.summary, status: this.status, sequence: this.sequence }, this.store);
  }

  private drawEmpty(): void {
    const { noModel } = this.store;
    this.empty.replaceChildren();
    if (noModel) {
      this.empty.append(el('h2', { text: noModel.file ? `No model for ${noModel.file}` : 'No model to inspect' }), el('p', { class: 'reason', id: 'no-model-reason', text: noModel.reason }));
    } else this.empty.append(el('p', { class: 'placeholder', text: 'Waiting for the extension…' }));
  }

  private drawNotes(): void {
    renderNotes(this.notes, this.store.notes, (id) => this.dismissNote(id));
  }

  private dismissNote(id: number): void {
    this.store.dismissNote(id);
    this.schedule();
  }

  private drawControls(): void {
    this.pickersKey = renderPickers(this.pickers, this.store, { chooseLayer: (l, d) => this.chooseLayer(l, d), chooseScale: (v) => this.chooseScale(v) }, this.pickersKey);
  }

  private drawSelection(): void {
    const sel = this.store.ui.selected;
    this.selection.replaceChildren(
      sel
        ? el('span', {}, el('span', { class: 'sel-dot', attrs: { 'aria-hidden': 'true' } }), 'Highlighting ', el('strong', { text: `unit ${sel.unit}` }), el('span', { class: 'muted', text: ` of ${sel.tensor}, layer ${sel.layer} ${sel.direction}` }))
        : el('span', { class: 'muted', text: 'Click a cell to highlight its unit in the editor.' }),
    );
    // Clear always works: the editor may keep colours the panel no longer knows of (another trace, a reload).
    setDisabled(this.clearButton, false);
  }

  private chooseLayer(layer: number, direction: 'forward' | 'backward'): void {
    const choices = layerChoices(this.store.model, this.store.trace);
    const exact = choices.find((c) => c.layer === layer && c.direction === direction) ?? choices.find((c) => c.layer === layer);
    if (!exact) return;
    this.store.ui.layer = exact.layer;
    this.store.ui.direction = exact.direction;
    this.tooltip.hide();
    this.store.touch('controls', 'states', 'gradients', 'step');
    // The Step tab follows the pickers: its step of the new layer and direction.
    if (this.store.ui.tab === 'step' || this.store.step) this.explainShownStep();
    this.schedule();
  }

  /** Asks the host for step t of the chosen layer and direction (it comes back with the next trace). */
  private explainStep(t: number): void {
    const { layer, direction } = this.store.ui;
    this.store.ui.stepT = t;
    this.host.post({ type: 'explainStep', t, layer, direction });
    this.tooltip.hide();
    this.store.touch('step');
    this.schedule();
  }

  /** The step the Step tab shows, asked for when it has not been explained for this layer and direction. */
  private explainShownStep(): void {
    const { trace, step, ui } = this.store;
    if (!trace) return;
    const t = Math.min(ui.stepT ?? defaultStep(trace), trace.T - 1);
    if (step && step.explanation.t === t && step.explanation.layer === ui.layer && step.explanation.direction === ui.direction) return;
    this.explainStep(t);
  }

  /** A token picked on another tab: the Step tab at that step. */
  private pickStep(t: number): void {
    const trace = this.store.trace;
    if (!trace || !Number.isInteger(t) || t < 0 || t >= trace.T) return;
    this.store.ui.tab = 'step';
    selectTab(this.tabs, 'step');
    this.explainStep(t);
    this.scheduleSave();
  }

  private chooseStepUnit(unit: number): void {
    this.store.ui.stepUnit = unit;
    this.store.touch('step');
    this.schedule();
    this.scheduleSave();
  }

  private chooseScale(scale: 'map' | 'unit'): void {
    if (this.store.ui.scale === scale) return;
    this.store.ui.scale = scale;
    this.tooltip.hide();
    this.store.touch('controls', 'states', 'gradients');
    this.schedule();
  }

  private select(selection: Selection): void {
    this.store.ui.selected = selection;
    this.host.post({ type: 'highlightUnit', ...selection });
    this.store.touch('states', 'gradients');
    this.schedule();
  }

  private clearSelection(): void {
    this.store.ui.selected = null;
    this.host.post({ type: 'clearHighlight' });
    this.store.touch('states', 'gradients');
    this.schedule();
  }

  private chooseSequence(source: SequenceSource): void {
    this.store.ui.sequence = source;
    this.store.pendingSequence = source;
    this.host.post({ type: 'chooseSequence', source });
    this.store.touch('header', 'states', 'gradients', 'predictions');
    this.schedule();
    // No answer (neither a trace nor a note) within a while: stop saying that it is coming.
    setTimeout(() => {
      if (this.store.pendingSequence !== source) return;
      this.store.pendingSequence = null;
      this.store.touch('header', 'states', 'gradients', 'predictions');
      this.schedule();
    }, PENDING_TIMEOUT_MS);
  }
}
