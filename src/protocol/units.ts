// Messages of the Units tab (docs/protocols.md, "Units"): between the extension host and its units
// worker (which keeps a file's states and answers queries over them), and between the host and the
// panel's Units tab. Each direction is a discriminated union on `type`, checked where received.

import * as v from 'valibot';
import { checkMessage, type Checked } from './check';

const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
const finite = v.pipe(v.number(), v.finite());
const stateKind = v.picklist(['h', 'c']);
const direction = v.picklist(['forward', 'backward']);
const id = nonNegativeInt;
/** A character span [start, end) in UTF-16 code units of the text. */
const chars = v.pipe(v.tuple([nonNegativeInt, nonNegativeInt]), v.check(([a, b]) => a <= b, 'a span ends before it starts'));

/** Matches listed at most (the count says how many there are). */
export const UNITS_MAX_MATCHES = 500;
/** Tokens whose values travel at most for colouring the editor (the visible part of the text). */
export const UNITS_MAX_VALUES = 50_000;
/** Tokens generated at most for a before/after comparison. */
export const UNITS_MAX_GENERATE = 400;

export const ClampSchema = v.strictObject({ state: stateKind, layer: nonNegativeInt, unit: nonNegativeInt, value: finite });

/** Which states the worker keeps: one kind, layer and direction over the whole text. */
export const StatesChoiceSchema = v.strictObject({ state: stateKind, layer: nonNegativeInt, direction });

/** LSTMVis's rule over the kept states: a selection (characters) and the threshold. */
export const MatchQuerySchema = v.strictObject({
  threshold: finite,
  offBefore: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000)),
  offAfter: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000)),
});

// ---- host ↔ units worker ----

export const HostToUnitsWorkerSchema = v.variant('type', [
  /** Read `text` with the saved model and keep the chosen states (answered with progress, then `opened`). */
  v.strictObject({ type: v.literal('open'), id, checkpointPath: v.string(), text: v.string(), choice: StatesChoiceSchema }),
  /** The units on across `select` (characters of the opened text) and their matches. */
  v.strictObject({ type: v.literal('query'), id, select: chars, query: MatchQuerySchema, top: v.pipe(positiveInt, v.maxValue(UNITS_MAX_MATCHES)) }),
  /** Every track's top units (by |r|). */
  v.strictObject({ type: v.literal('tracks'), id, top: v.pipe(positiveInt, v.maxValue(50)) }),
  /** One unit's states over the tokens that touch [from, to) (characters), for colouring the editor. */
  v.strictObject({ type: v.literal('values'), id, unit: nonNegativeInt, range: chars }),
  /** Before and after a clamp: the predictions after `prime`, its loss, and `length` tokens generated with `seed`. */
  v.strictObject({
    type: v.literal('compare'),
    id,
    prime: v.string(),
    clamp: ClampSchema,
    length: v.pipe(positiveInt, v.maxValue(UNITS_MAX_GENERATE)),
    temperature: v.pipe(v.number(), v.finite(), v.minValue(0)),
    topK: nonNegativeInt,
    seed: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(0xffffffff)),
  }),
]);

const MatchSchema = v.strictObject({ start: nonNegativeInt, end: nonNegativeInt, chars });
const LeaderSchema = v.strictObject({ unit: nonNegativeInt, r: v.pipe(v.number(), v.minValue(-1), v.maxValue(1)) });
const TrackSchema = v.strictObject({ name: v.string(), leaders: v.array(LeaderSchema) });
const GuessSchema = v.strictObject({ token: v.string(), p: v.pipe(v.number(), v.minValue(0), v.maxValue(1)) });
const OutcomeSchema = v.strictObject({ top: v.array(GuessSchema), loss: v.nullable(finite), generated: v.string() });

export const UnitsWorkerToHostSchema = v.variant('type', [
  v.strictObject({ type: v.literal('progress'), id, done: nonNegativeInt, total: nonNegativeInt }),
  /** The states are kept: T tokens of H units, taking `bytes`, read in `ms`; `step` is the model's training step. */
  v.strictObject({ type: v.literal('opened'), id, T: positiveInt, H: positiveInt, layers: positiveInt, directions: v.picklist([1, 2]), bytes: nonNegativeInt, exact: v.boolean(), ms: finite, step: nonNegativeInt }),
  v.strictObject({
    type: v.literal('matches'),
    id,
    /** The selection as token positions [A, B). */
    select: v.tuple([nonNegativeInt, nonNegativeInt]),
    units: v.array(nonNegativeInt),
    matches: v.pipe(v.array(MatchSchema), v.maxLength(UNITS_MAX_MATCHES)),
    count: nonNegativeInt,
    ms: finite,
  }),
  v.strictObject({ type: v.literal('leaders'), id, tracks: v.array(TrackSchema), ms: finite }),
  v.strictObject({ type: v.literal('values'), id, unit: nonNegativeInt, spans: v.instance(Int32Array), values: v.instance(Float32Array), max: finite }),
  v.strictObject({ type: v.literal('compared'), id, before: OutcomeSchema, after: OutcomeSchema }),
  v.strictObject({ type: v.literal('failed'), id: v.nullable(id), message: v.string() }),
]);

export type HostToUnitsWorker = v.InferOutput<typeof HostToUnitsWorkerSchema>;
export type UnitsWorkerToHost = v.InferOutput<typeof UnitsWorkerToHostSchema>;
export type UnitsClamp = v.InferOutput<typeof ClampSchema>;
export type StatesChoice = v.InferOutput<typeof StatesChoiceSchema>;
export type MatchQueryMessage = v.InferOutput<typeof MatchQuerySchema>;
export type CompareOutcome = v.InferOutput<typeof OutcomeSchema>;

export const checkHostToUnitsWorker = (value: unknown): Checked<HostToUnitsWorker> => checkMessage(HostToUnitsWorkerSchema, value);
export function checkUnitsWorkerToHost(value: unknown): Checked<UnitsWorkerToHost> {
  const checked = checkMessage(UnitsWorkerToHostSchema, value);
  if (checked.ok && checked.message.type === 'values') {
    const m = checked.message;
    if (m.spans.length !== 2 * m.values.length) return { ok: false, error: `values: ${m.spans.length} span offsets for ${m.values.length} values` };
    if (m.values.length > UNITS_MAX_VALUES) return { ok: false, error: `values: ${m.values.length} values, at most ${UNITS_MAX_VALUES}` };
  }
  if (checked.ok && checked.message.type === 'matches' && checked.message.matches.some((x) => x.start >= x.end)) return { ok: false, error: 'matches: an empty match' };
  return checked;
}

// ---- host ↔ panel (the Units tab) ----

const PanelMatchSchema = v.strictObject({ start: nonNegativeInt, end: nonNegativeInt, line: nonNegativeInt, text: v.string() });

/** Host → panel: what the Units tab shows. */
export const UnitsHostToPanelSchema = [
  /** The states being read (done of total tokens), or null when they are kept. */
  v.strictObject({ type: v.literal('unitsProgress'), file: v.string(), done: nonNegativeInt, total: nonNegativeInt }),
  /** A selection's units and matches over the kept states (`selection` null: no query yet). */
  v.strictObject({
    type: v.literal('units'),
    file: v.string(),
    step: nonNegativeInt,
    T: positiveInt,
    H: positiveInt,
    layers: positiveInt,
    directions: v.picklist([1, 2]),
    choice: StatesChoiceSchema,
    query: MatchQuerySchema,
    selection: v.nullable(v.strictObject({ text: v.string(), tokens: v.tuple([nonNegativeInt, nonNegativeInt]), line: nonNegativeInt })),
    units: v.array(nonNegativeInt),
    matches: v.pipe(v.array(PanelMatchSchema), v.maxLength(UNITS_MAX_MATCHES)),
    count: nonNegativeInt,
    /** How long the last match query took, and the states pass. */
    queryMs: finite,
    statesMs: finite,
    bytes: nonNegativeInt,
    /** Where the states come from while the model trains: re-read at most every few seconds. */
    live: v.boolean(),
  }),
  v.strictObject({ type: v.literal('unitsLeaders'), tracks: v.array(TrackSchema) }),
  /** The unit the editor is coloured by (null: none). */
  v.strictObject({ type: v.literal('unitsColour'), unit: v.nullable(nonNegativeInt) }),
  v.strictObject({ type: v.literal('unitsCompare'), clamp: ClampSchema, at: v.string(), before: OutcomeSchema, after: OutcomeSchema }),
  /** The clamp Generate Text at Cursor holds while on (null: off). */
  v.strictObject({ type: v.literal('unitsClampOn'), clamp: v.nullable(ClampSchema) }),
  v.strictObject({ type: v.literal('unitsError'), text: v.string() }),
] as const;

/** Panel → host: the Units tab's controls. */
export const UnitsPanelToHostSchema = [
  /** Re-run the query (threshold, off-before/after), or re-read the states when the choice changed. */
  v.strictObject({ type: v.literal('unitsQuery'), choice: StatesChoiceSchema, query: MatchQuerySchema }),
  /** Show match k of the list in the editor. */
  v.strictObject({ type: v.literal('unitsJump'), start: nonNegativeInt, end: nonNegativeInt }),
  v.strictObject({ type: v.literal('unitsTracks') }),
  v.strictObject({ type: v.literal('unitsColour'), unit: v.nullable(nonNegativeInt) }),
  /** Before/after with this clamp at the cursor. */
  v.strictObject({ type: v.literal('unitsCompare'), clamp: ClampSchema }),
  /** Generate Text at Cursor with this clamp on (null: off). */
  v.strictObject({ type: v.literal('unitsClampOn'), clamp: v.nullable(ClampSchema) }),
] as const;

const UnitsHostToPanelVariant = v.variant('type', [...UnitsHostToPanelSchema]);
const UnitsPanelToHostVariant = v.variant('type', [...UnitsPanelToHostSchema]);
export type UnitsHostToPanel = v.InferOutput<typeof UnitsHostToPanelVariant>;
export type UnitsPanelToHost = v.InferOutput<typeof UnitsPanelToHostVariant>;
export type UnitsMessage = Extract<UnitsHostToPanel, { type: 'units' }>;

export const UNITS_HOST_TO_PANEL_TYPES: ReadonlySet<string> = new Set(UnitsHostToPanelSchema.map((s) => s.entries.type.literal));
export const UNITS_PANEL_TO_HOST_TYPES: ReadonlySet<string> = new Set(UnitsPanelToHostSchema.map((s) => s.entries.type.literal));

/** The sizes a schema alone cannot check: the matches' spans. */
export function unitsPanelProblem(m: UnitsHostToPanel): string | null {
  if (m.type === 'units') {
    if (m.matches.some((x) => x.start >= x.end)) return 'units: an empty match';
    if (m.choice.layer >= m.layers) return `units: layer ${m.choice.layer} of ${m.layers}`;
    if (m.units.some((u) => u >= m.H)) return `units: a unit beyond H = ${m.H}`;
    if (m.selection && m.selection.tokens[0] >= m.selection.tokens[1]) return 'units: an empty selection';
  }
  return null;
}
