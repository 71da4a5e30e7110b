// Checking a received message against its schema: the message, or one line saying what is wrong.

import * as v from 'valibot';
import { oneLine } from '../engine/format';

export type Checked<T> = { ok: true; message: T } | { ok: false; error: string };

/** The longest error a check returns: it is logged, and valibot quotes a received string whole. */
const MAX_ERROR_LENGTH = 200;

export function checkMessage<T>(schema: v.GenericSchema<unknown, T>, value: unknown): Checked<T> {
  const result = v.safeParse(schema, value);
  if (result.success) return { ok: true, message: result.output };
  const issue = result.issues[0];
  const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
  return { ok: false, error: errorLine(`${path ? `${path}: ` : ''}${issue.message}`) };
}

/** An error as one line of at most MAX_ERROR_LENGTH characters (a message may quote what it received). */
function errorLine(error: string): string {
  return oneLine(error, MAX_ERROR_LENGTH);
}
