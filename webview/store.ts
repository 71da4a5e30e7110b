// What the panel knows: the last model, training and trace messages, the notes, and the reader's
// choices. Messages are applied here (already checked); drawing happens later, in one animation
// frame, from whatever is latest. The same data, made JSON, is the state VS Code keeps while the
// panel is hidden.

import * as v from 'valibot';
import { base64ToFloat32, float32ToBase64 } from '../src/engine/base64';
import { parameterSuffix } from '../src/engine/names';
import { compactColumns } from '../src/engine/history';
import {
  checkHostToPanel,
  GRADIENT_NAMES,
  STATE_NAMES,
  type HostToPanel,
  type ModelMessage,
  type StepMessage,
  type TraceMessage,
  type TrainingMessage,
} from '../src/protocol/panel';
import type { UnitsHostToPanel } from '../src/protocol/units';
import { UnitsState } from './unitsState';
import type { WhyHostToPanel } from '../src/protocol/why';
import { WhyState } from './whyState';

export const TABS = ['shapes', 'states', 'gradients', 'step', 'training', 'predictions', 'units'] as const;
export type TabId = (typeof TABS)[number];
export type Direction = 'forward' | 'backward';
export type SequenceSource = 'cursor' | 'selection' | 'start';

const unit = v.pipe(v.number(), v.integer(), v.minValue(0));
const direction = v.picklist(['forward', 'backward']);

const SelectionSchema = v.strictObject({ layer: unit, direction, tensor: v.picklist([...STATE_NAMES, ...GRADIENT_NAMES]), unit });
export type Selection = v.InferOutput<typeof SelectionSchema>;

const UiSchema = v.object({
  tab: v.picklist(TABS),
  layer: unit,
  direction,
  selected: v.nullable(SelectionSchema),
  sequence: v.nullable(v.picklist(['cursor', 'selection', 'start'])),
  /** Colours of the signed maps: per map (clipped at a percentile) or per unit (each row its own). */
  scale: v.optional(v.picklist(['map', 'unit']), 'map'),
  /** The Step tab's step (null: the token before the cursor) and the unit it writes out. */
  stepT: v.optional(v.nullable(unit), null),
  stepUnit: v.optional(unit, 0),
});
export type UiChoices = v.InferOutput<typeof UiSchema>;

export function defaultUi(): UiChoices {
  return { tab: 'states', layer: 0, direction: 'forward', selected: null, sequence: null, scale: 'map', stepT: null, stepUnit: 0 };
}

export interface History {
  step: number[];
  loss: number[];
  gradNorm: number[];
  learningRate: number[];
}

export interface Training {
  running: boolean;
  step: number;
  totalSteps: number;
  tokensPerSecond: number;
  /** The run's average, when the host says. */
  averageTokensPerSecond?: number;
  clip: number | null;
  /** Where the run trains, when the host says. */
  backend?: 'CPU' | 'GPU';
  history: History;
}

export interface Note {
  id: number;
  level: 'info' | 'warning' | 'error';
  text: string;
}

/** The parts of the page that a change asks to redraw ('gradnorm': the gradient norm per training
 *  step, on the Gradients tab but fed by training messages, so that those leave the maps alone). */
export type Part = 'header' | 'notes' | 'controls' | 'shapes' | 'states' | 'gradients' | 'gradnorm' | 'training' | 'predictions' | 'step' | 'units' | 'timeline' | 'attribution';
export const ALL_PARTS: readonly Part[] = ['header', 'notes', 'controls', 'shapes', 'states', 'gradients', 'gradnorm', 'training', 'predictions', 'step', 'units', 'timeline', 'attribution'];

/**
 * Points of live history the panel keeps. Past it, neighbouring points merge two by two by the
 * engine's one rule for every training history (compactColumns: the later step, means weighted by
 * the steps each point covers), so a long run keeps its whole shape in bounded memory.
 */
export const MAX_HISTORY = 20_000;

/** The layers and directions that can be shown: the trace's entries, else the model's. */
export function layerChoices(model: ModelMessage | null, trace: TraceMessage | null): Array<{ layer: number; direction: Direction }> {
  if (trace && trace.entries.length > 0) return trace.entries.map((e) => ({ layer: e.layer, direction: e.direction }));
  if (!model) return [];
  const out: Array<{ layer: number; direction: Direction }> = [];
  for (let l = 0; l < model.summary.layers; l++) {
    out.push({ layer: l, direction: 'forward' });
    if (model.summary.directions === 2) out.push({ layer: l, direction: 'backward' });
  }
  return out;
}

function sameArchitecture(a: ModelMessage, b: ModelMessage): boolean {
  const x = a.summary;
  const y = b.summary;
  return x.file === y.file && x.vocabSize === y.vocabSize && x.hiddenSize === y.hiddenSize && x.layers === y.layers && x.directions === y.directions && x.embeddingSize === y.embeddingSize && x.tokens === y.tokens;
}

export class PanelStore {
  model: ModelMessage | null = null;
  noModel: { file: string | null; reason: string } | null = null;
  training: Training | null = null;
  trace: TraceMessage | null = null;
  /** The Step tab's latest explained step (it comes with each trace while the tab asks). */
  step: StepMessage | null = null;
  /** The host asked for the Step tab (Explain Step at Cursor): the frame shows it once. */
  showStepTab = false;
  notes: Note[] = [];
  /** The Units tab's latest answers (webview/sections/units.ts); showUnitsTab: a new selection's, shown once. */
  readonly units = new UnitsState();
  showUnitsTab = false;
  /** The time line, the baseline and the attribution strip (webview/sections/why.ts). */
  readonly why = new WhyState();
  ui: UiChoices = defaultUi();
  /** A chooseSequence asked and not answered by a trace yet. */
  pendingSequence: SequenceSource | null = null;
  readonly dirty = new Set<Part>();
  private noteId = 0;

  touch(...parts: readonly Part[]): void {
    for (const p of parts) this.dirty.add(p);
  }

  apply(m: HostToPanel): void {
    if (m.type.startsWith('why')) {
      this.touch(...this.why.apply(m as WhyHostToPanel));
      return;
    }
    if (m.type.startsWith('units')) {
      const before = this.units.result?.selection;
      this.units.apply(m as UnitsHostToPanel);
      const after = this.units.result?.selection;
      if (m.type === 'units' && after && (!before || before.tokens[0] !== after.tokens[0] || before.tokens[1] !== after.tokens[1] || before.text !== after.text)) {
        this.ui.tab = 'units';
        this.showUnitsTab = true;
      }
      this.touch('units');
      return;
    }
    switch (m.type) {
      case 'model': {
        if (this.model && !sameArchitecture(this.model, m)) {
          // Another file or another architecture: the old trace and curves belong to another model.
          this.trace = null;
          this.step = null;
          if (this.model.summary.file !== m.summary.file) this.training = null;
          this.ui.selected = null;
        }
        this.model = m;
        this.noModel = null;
        this.clampLayer();
        this.touch(...ALL_PARTS);
        break;
      }
      case 'noModel':
        this.model = null;
        this.trace = null;
        this.step = null;
        this.training = null;
        this.ui.selected = null;
        this.pendingSequence = null;
        this.noModel = { file: m.file, reason: m.reason };
        this.touch(...ALL_PARTS);
        break;
      case 'training':
        this.applyTraining(m);
        this.touch('header', 'training', 'gradnorm');
        break;
      case 'trace':
        this.trace = m;
        this.pendingSequence = null;
        this.clampLayer();
        if (this.ui.selected && this.ui.selected.unit >= m.H) this.ui.selected = null;
        if (this.ui.stepT !== null && this.ui.stepT >= m.T) this.ui.stepT = m.T - 1;
        if (this.ui.stepUnit >= m.H) this.ui.stepUnit = 0;
        this.touch('header', 'controls', 'states', 'gradients', 'predictions', 'step');
        break;
      case 'step': {
        const e = m.explanation;
        this.step = m;
        // The step shown is the one explained (the host may have resolved "at the cursor").
        this.ui.stepT = e.t;
        if (this.ui.layer !== e.layer || this.ui.direction !== e.direction) {
          this.ui.layer = e.layer;
          this.ui.direction = e.direction;
          this.touch('controls', 'states', 'gradients');
        }
        if (this.ui.stepUnit >= e.forward.h.length) this.ui.stepUnit = 0;
        this.touch('step');
        break;
      }
      case 'showStep':
        this.ui.tab = 'step';
        this.showStepTab = true;
        this.touch('step');
        break;
      case 'note':
        this.notes.push({ id: ++this.noteId, level: m.level, text: m.text });
        if (this.notes.length > 5) this.notes.splice(0, this.notes.length - 5);
        // A note may be the answer to a chooseSequence that has no trace (no selection, say).
        if (this.pendingSequence) this.touch('header', 'states', 'gradients', 'predictions');
        this.pendingSequence = null;
        this.touch('notes');
        break;
    }
  }

  dismissNote(id: number): void {
    this.notes = this.notes.filter((n) => n.id !== id);
    this.touch('notes');
  }

  private applyTraining(m: TrainingMessage): void {
    const h = m.history;
    if (m.reset || !this.training) {
      this.training = {
        running: m.running,
        step: m.step,
        totalSteps: m.totalSteps,
        tokensPerSecond: m.tokensPerSecond,
        clip: m.clip,
        ...(m.averageTokensPerSecond !== undefined ? { averageTokensPerSecond: m.averageTokensPerSecond } : {}),
        ...(m.backend ? { backend: m.backend } : {}),
        history: { step: [...h.step], loss: [...h.loss], gradNorm: [...h.gradNorm], learningRate: [...h.learningRate] },
      };
    } else {
      const t = this.training;
      Object.assign(t, { running: m.running, step: m.step, totalSteps: m.totalSteps, tokensPerSecond: m.tokensPerSecond, clip: m.clip }, m.backend ? { backend: m.backend } : {});
      if (m.averageTokensPerSecond !== undefined) t.averageTokensPerSecond = m.averageTokensPerSecond;
      else delete t.averageTokensPerSecond;
      const n = Math.min(h.step.length, h.loss.length, h.gradNorm.length, h.learningRate.length);
      for (let i = 0; i < n; i++) {
        t.history.step.push(h.step[i]);
        t.history.loss.push(h.loss[i]);
        t.history.gradNorm.push(h.gradNorm[i]);
        t.history.learningRate.push(h.learningRate[i]);
      }
    }
    while (this.training.history.step.length > MAX_HISTORY) compactColumns(this.training.history);
  }

  /** Keeps the chosen layer and direction among those that exist. */
  private clampLayer(): void {
    const choices = layerChoices(this.model, this.trace);
    if (choices.length === 0) return;
    if (!choices.some((c) => c.layer === this.ui.layer && c.direction === this.ui.direction)) {
      const sameLayer = choices.find((c) => c.layer === this.ui.layer);
      const c = sameLayer ?? choices[0];
      this.ui.layer = c.layer;
      this.ui.direction = c.direction;
    }
  }

  // ---- Saved state ----

  /** JSON for vscode.setState: enough to redraw everything without a new message. */
  save(): SavedState {
    let trace: TraceMessage | null = this.trace;
    if (trace) {
      const floats = trace.entries.reduce((a, e) => a + e.states.length + (e.gradients?.length ?? 0), 0) + trace.parameterGradients.reduce((a, g) => a + g.data.length, 0);
      if (floats > MAX_SAVED_FLOATS) {
        // A big model: keep what the chosen layer and direction show.
        const { layer, direction } = this.ui;
        const suffix = parameterSuffix(layer, direction);
        trace = {
          ...trace,
          entries: trace.entries.filter((e) => e.layer === layer && e.direction === direction),
          parameterGradients: trace.parameterGradients.filter((g) => g.name.endsWith(suffix)),
        };
      }
    }
    const training: TrainingMessage | null = this.training ? { type: 'training', ...this.training, reset: true } : null;
    return { version: SAVED_VERSION, ui: this.ui, model: this.model, noModel: this.noModel, training, trace: trace ? encodeFloats(trace) : null };
  }

  /** Restores a saved state, checking every part as if it were a message; false if there is none. */
  restore(saved: unknown): boolean {
    if (!saved || typeof saved !== 'object') return false;
    const s = saved as Partial<Record<keyof SavedState, unknown>>;
    if (s.version !== SAVED_VERSION) return false;
    let any = false;
    for (const part of [s.model, s.training, s.trace]) {
      if (part === null || part === undefined) continue;
      const checked = checkHostToPanel(decodeFloats(part));
      if (checked.ok) {
        this.apply(checked.message);
        any = true;
      } else console.warn(`LSTM Lens: saved state ignored (${checked.error})`);
    }
    if (!any && s.noModel && typeof s.noModel === 'object') {
      const checked = checkHostToPanel({ type: 'noModel', ...(s.noModel as object) });
      if (checked.ok) {
        this.apply(checked.message);
        any = true;
      }
    }
    const ui = v.safeParse(UiSchema, s.ui);
    if (ui.success) {
      this.ui = { ...ui.output };
      this.clampLayer();
      any = true;
    }
    this.touch(...ALL_PARTS);
    return any;
  }
}

const SAVED_VERSION = 1;
/** Floats of a trace kept whole in the saved state (2 MB, under 3 MB of JSON); past it, only the chosen layer's. */
const MAX_SAVED_FLOATS = 500_000;

export interface SavedState {
  version: number;
  ui: UiChoices;
  model: ModelMessage | null;
  noModel: { file: string | null; reason: string } | null;
  training: TrainingMessage | null;
  trace: unknown;
}

// Float32Arrays as {"$f32": base64}, as in the test recordings: setState keeps JSON only.

export function encodeFloats(value: unknown): unknown {
  if (value instanceof Float32Array) return { $f32: float32ToBase64(value) };
  if (Array.isArray(value)) return value.map(encodeFloats);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, encodeFloats(x)]));
  return value;
}

export function decodeFloats(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeFloats);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$f32 === 'string' && Object.keys(o).length === 1) return base64ToFloat32(o.$f32) ?? o;
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decodeFloats(x)]));
  }
  return value;
}
