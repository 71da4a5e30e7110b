// `lstm-lens inspect`: the model reading a text, as JSON (every position) or as a readable report
// (inspectReport.ts).

import { attributeText, type Attribution } from '../engine/attribution';
import { InputError } from '../engine/config';
import { inspectText } from '../engine/inspect';
import { modelFromCheckpoint } from '../engine/trainer';
import { readCheckpointFile } from '../node/files';
import { intOption, onePositional, parse, UsageError } from './args';
import { INSPECT_PRINTED_POSITIONS, inspectReport } from './inspectReport';
import { CLAMP_OPTION, clampsOf } from './clampOption';
import { outputWidth, parsePositions, parseUnits } from './layout';

export function inspect(args: string[]): number {
  const { values, positionals } = parse(
    args,
    { text: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, units: { type: 'string' }, positions: { type: 'string' }, 'no-trace': { type: 'boolean' }, attribute: { type: 'string' }, ...CLAMP_OPTION },
    'inspect',
  );
  const path = onePositional(positionals, 'CKPT', 'inspect');
  if (typeof values.text !== 'string') throw new UsageError('inspect needs --text TEXT');
  const topN = intOption(values, 'top', 5, 1);
  if (values.json) {
    const shaping = (['units', 'positions', 'no-trace'] as const).filter((n) => values[n] !== undefined);
    if (shaping.length > 0) throw new UsageError(`${shaping.map((n) => `--${n}`).join(', ')} shape${shaping.length === 1 ? 's' : ''} the text output; --json has every position, unit and tensor (leave ${shaping.length === 1 ? 'it' : 'them'} out, or leave out --json)`);
  }
  const ckpt = readCheckpointFile(path);
  const { model, tokenizer } = modelFromCheckpoint(ckpt);
  const T = tokenizer.encode(values.text).ids.length;
  if (T === 0) throw new InputError('the text has no tokens the model knows');
  const H = model.config.hidden_size;
  const clamps = clampsOf(values, model.config);
  const chosenPositions = typeof values.positions === 'string' ? parsePositions(values.positions, T) : null;
  const chosenUnits = typeof values.units === 'string' ? parseUnits(values.units, H) : null;
  const withTrace = values['no-trace'] !== true;
  // --attribute P: which earlier tokens drive the prediction at P (of token P+1).
  let attribution: Attribution | null = null;
  if (values.attribute !== undefined) {
    if (T < 2) throw new InputError(`--attribute needs a text of at least two tokens (a position and the token it predicts); this one has ${T}`);
    const P = intOption(values, 'attribute', 0, 0, T - 2, ` (the text's ${T} tokens: positions 0 to ${T - 2} predict the next one)`);
    attribution = attributeText(model, tokenizer, values.text, P, { clamps });
  }
  // The engine reads a long text in pieces; as text only the positions shown are computed (the
  // first ones unless --positions says), with --json every position (or a refusal, in one line,
  // of what cannot fit).
  const window = values.json ? { start: 0, end: T } : (chosenPositions ?? { start: 0, end: Math.min(T, INSPECT_PRINTED_POSITIONS) });
  let result: ReturnType<typeof inspectText>;
  try {
    result = inspectText(model, tokenizer, values.text, { topK: topN, window, gradients: values.json === true || withTrace, clamps });
  } catch (e) {
    if (e instanceof InputError && values.json) {
      throw new InputError(`${e.message} (with --json every position is returned: give a shorter --text, or leave out --json for the first ${INSPECT_PRINTED_POSITIONS})`);
    }
    throw e;
  }
  const write = (chunk: string): void => {
    process.stdout.write(chunk);
  };
  if (values.json) {
    // Written piece by piece: the whole object as one string would not fit for a long text.
    const V = model.config.vocab_size;
    const rows = (data: ArrayLike<number> | null, width: number): void => {
      write('[');
      if (data) {
        for (let t = 0; t < T; t++) {
          let row = t > 0 ? ',[' : '[';
          for (let j = 0; j < width; j++) row += (j > 0 ? ',' : '') + JSON.stringify(data[t * width + j]);
          write(`${row}]`);
        }
      }
      write(']');
    };
    write(`{"tokens":${JSON.stringify(result.tokens)},"ids":${JSON.stringify(Array.from(result.ids))},"unknown":${result.unknown},"logits":`);
    rows(result.logits, V);
    write(`,"loss":${JSON.stringify(Number.isFinite(result.loss) ? result.loss : null)},"token_loss":${JSON.stringify(Array.from(result.tokenLoss))},"shapes":${JSON.stringify(Object.fromEntries(result.shapes))},"top":[`);
    for (let t = 0; t < T; t++) write((t > 0 ? ',' : '') + JSON.stringify(result.top[t]));
    write('],"trace":[');
    result.trace.forEach((e, k) => {
      write(`${k > 0 ? ',' : ''}{"layer":${e.layer},"direction":${JSON.stringify(e.direction)}`);
      for (const name of ['i', 'f', 'g', 'o', 'c', 'h', 'dh', 'dc'] as const) {
        write(`,"${name}":[`);
        rows(e[name], H);
        write(']');
      }
      write('}');
    });
    write(']');
    if (attribution) write(`,"attribution":${JSON.stringify(attribution)}`);
    write('}\n');
    return 0;
  }
  write(inspectReport(ckpt, result, { width: outputWidth(process.stdout, process.env), chosenPositions, chosenUnits, withTrace, topN, attribution }));
  return 0;
}
