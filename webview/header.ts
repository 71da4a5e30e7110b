// The panel's header (the file, the model in one line, the run's state, the traced sequence), its
// notes and its layer/direction/colour pickers, drawn from the store: what the App places on the page.

import { modeOption } from '../src/engine/config';
import { formatCount, formatValue } from './format';
import { layerChoices, type Note, type PanelStore } from './store';
import { el } from './ui/dom';
import { button, dropdown, tag } from './ui/toolkit';

export function runOutcome(t: { step: number; totalSteps: number }): 'finished' | 'stopped' {
  return t.step >= t.totalSteps ? 'finished' : 'stopped';
}

/** The heading, the model's summary line, the run's status tag and the sequence line. */
export function renderHeader(at: { heading: HTMLElement; summary: HTMLElement; status: HTMLElement; sequence: HTMLElement }, store: PanelStore): void {
  const { model, noModel, training, trace } = store;
  at.heading.textContent = model?.summary.file ?? noModel?.file ?? 'Inspect States';
  const m = model?.summary;
  if (m) {
    const parts = [
      `${m.tokens === 'char' ? 'Characters' : 'Words'}, vocabulary ${formatCount(m.vocabSize)}`,
      `${m.layers} layer${m.layers === 1 ? '' : 's'} × ${m.hiddenSize} units${m.directions === 2 ? ', both directions' : ''}`,
      m.embeddingSize === null ? 'one-hot input' : `embedding ${m.embeddingSize}`,
      modeOption(m.mode),
      `${formatCount(m.parameters)} parameters`,
    ];
    at.summary.textContent = parts.join(' · ');
  } else at.summary.textContent = '';
  at.status.replaceChildren();
  if (training) {
    at.status.append(tag(training.running ? `training${training.backend ? ` on the ${training.backend}` : ''} · step ${training.step} / ${training.totalSteps}` : `${runOutcome(training)} · step ${training.step}${training.step < training.totalSteps ? ` / ${training.totalSteps}` : ''}`, training.running ? 'running' : ''));
  } else if (m) at.status.append(tag(`step ${m.step}${m.loss === null ? '' : ` · loss ${formatValue(m.loss)}`}`));
  // The sequence line belongs to the trace.
  at.sequence.replaceChildren();
  if (store.pendingSequence) at.sequence.append(el('span', { class: 'muted', text: 'Reading the sequence…' }));
  else if (trace) {
    at.sequence.append(
      el('span', { class: 'seq-label', text: 'Sequence: ' }),
      el('strong', { text: trace.source }),
      el('span', { class: 'muted', text: ` · ${trace.T} token${trace.T === 1 ? '' : 's'} · model at step ${trace.step}${trace.loss === null ? '' : ` · loss ${formatValue(trace.loss)}`}` }),
    );
    // Many-to-one trains on windows: the trace reads the whole text as one sequence.
    if (m && m.mode === 'many_to_one' && trace.T > m.sequenceLength) {
      const trained = training?.history.loss.length ? training.history.loss[training.history.loss.length - 1] : m.loss;
      at.sequence.append(
        el('div', { class: 'muted windows-note', id: 'windows-note', text: `This trace reads the ${trace.T} tokens as one sequence; training read windows of ${m.sequenceLength}${trained === null ? '' : ` (trained loss ${formatValue(trained)})`}, so its loss is not the training loss.` }),
      );
    }
  } else at.sequence.append(el('span', { class: 'muted', text: 'No sequence traced yet.' }));
}

/** The notes, each with a dismiss button. */
export function renderNotes(container: HTMLElement, notes: readonly Note[], dismiss: (id: number) => void): void {
  container.replaceChildren(
    ...notes.map((n) =>
      el(
        'div',
        { class: `note ${n.level}`, role: n.level === 'error' ? 'alert' : 'status', attrs: { 'data-note-id': n.id } },
        el('span', { class: 'note-icon', text: n.level === 'error' ? '✖' : n.level === 'warning' ? '⚠' : 'ℹ', attrs: { 'aria-hidden': 'true' } }),
        el('span', { class: 'note-text', text: n.text }),
        button({ label: '×', appearance: 'icon', ariaLabel: 'Dismiss', title: 'Dismiss', onClick: () => dismiss(n.id) }),
      ),
    ),
  );
}

/**
 * Layer and direction dropdowns and the colour scale; rebuilt only when their choices change (not
 * to steal focus). Returns the key of what is drawn: pass it back as lastKey.
 */
export function renderPickers(
  container: HTMLElement,
  s: PanelStore,
  actions: { chooseLayer: (layer: number, direction: 'forward' | 'backward') => void; chooseScale: (scale: 'map' | 'unit') => void },
  lastKey: string,
): string {
  
  const choices = layerChoices(s.model, s.trace);
  const layers = [...new Set(choices.map((c) => c.layer))];
  const directions = choices.filter((c) => c.layer === s.ui.layer).map((c) => c.direction);
  const key = JSON.stringify([layers, directions, s.ui.layer, s.ui.direction, s.ui.scale]);
  if (key === lastKey) return key;
  const layer = dropdown({
    id: 'layer',
    label: 'Layer',
    options: (layers.length ? layers : [0]).map((l) => ({ value: String(l), label: `Layer ${l}` })),
    value: String(s.ui.layer),
    onChange: (v) => actions.chooseLayer(Number(v), s.ui.direction),
  });
  const scale = dropdown({
    id: 'scale',
    label: 'Colours',
    options: [
      { value: 'map', label: 'per map' },
      { value: 'unit', label: 'per unit' },
    ],
    value: s.ui.scale,
    onChange: (v) => actions.chooseScale(v === 'unit' ? 'unit' : 'map'),
  });
  scale.control.title = 'Signed maps (g, c, h and the gradients): one scale per map, clipped at its 99th percentile, or one per unit (row)';
  const direction = dropdown({
    id: 'direction',
    label: 'Direction',
    options: (directions.length ? directions : ['forward' as const]).map((d) => ({ value: d, label: d })),
    value: s.ui.direction,
    onChange: (v) => actions.chooseLayer(s.ui.layer, v === 'backward' ? 'backward' : 'forward'),
  });
  container.replaceChildren(layer.element, direction.element, scale.element);
  return key;
}
