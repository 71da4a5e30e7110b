// Checking a received message against its schema: the message, or one line saying what is wrong.

import * as v from 'valibot';

export type Checked<T> = { ok: true; message: T } | { ok: false; error: string };

export function checkMessage<T>(schema: v.GenericSchema<unknown, T>, value: unknown): Checked<T> {
  const result = v.safeParse(schema, value);
  if (result.success) return { ok: true, message: result.output };
  const issue = result.issues[0];
  const path = issue.path?.map((p) => String(p.key)).join('.') ?? '';
  return { ok: false, error: `${path ? `${path}: ` : ''}${issue.message}` };
}
