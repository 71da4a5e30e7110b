// The Step tab's choice, host side: what the panel may ask to explain (a step of the trace it was
// sent, of a layer and direction that trace has), and what the extension asks the worker for. No
// `vscode` import: unit-tested in plain Node.

import type { ExplainStepRequest, TraceMessage } from '../protocol/panel';
import type { Sequence } from '../protocol/worker';

export type StepRequest = NonNullable<Sequence['explain']>;

/** Why the panel's request does not fit the trace it was last sent (null: it fits). */
export function stepRequestProblem(request: ExplainStepRequest, trace: TraceMessage | null): string | null {
  if (!trace) return 'explainStep before any trace';
  if (request.t >= trace.T) return `explainStep: t = ${request.t} is past the trace's ${trace.T} tokens`;
  if (!trace.entries.some((e) => e.layer === request.layer && e.direction === request.direction)) return `explainStep: the trace has no layer ${request.layer} ${request.direction}`;
  return null;
}

/** Explain Step at Cursor: the token before the cursor, in the layer and direction asked for last (else layer 0 forward). */
export function stepAtCursor(previous: StepRequest | null): StepRequest {
  return { t: null, layer: previous?.layer ?? 0, direction: previous?.direction ?? 'forward' };
}

/** What changes the step the host asks the worker to explain. */
export type StepEvent =
  /** The Step tab asked for a step (already checked against the trace it was sent). */
  | { kind: 'panel'; request: ExplainStepRequest }
  /** Explain Step at Cursor. */
  | { kind: 'cursor' }
  /** The panel closed: nothing is explained until the tab asks again. */
  | { kind: 'closed' };

/** The step chosen after an event, from the one chosen before (null: none). */
export function nextStepChoice(current: StepRequest | null, event: StepEvent): StepRequest | null {
  switch (event.kind) {
    case 'panel':
      return { t: event.request.t, layer: event.request.layer, direction: event.request.direction };
    case 'cursor':
      return stepAtCursor(current);
    case 'closed':
      return null;
  }
}

/** The sequence to trace, with the step to explain when one is chosen. */
export function withStep(sequence: Sequence, step: StepRequest | null): Sequence {
  return step ? { ...sequence, explain: step } : sequence;
}
