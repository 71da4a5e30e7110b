// What the hover over a file with a model says: after the hovered token, the model's top guesses
// for the next one, whitespace made visible. No `vscode` import: unit-tested in plain Node.

import type { TraceMessage } from '../protocol/panel';
import { tokenText } from './names';

/** How much text before the hovered word the model reads. */
export const HOVER_CONTEXT_CHARS = 2000;

function escapeMarkdown(text: string): string {
  return text.replace(/[`\\]/g, (c) => `\\${c}`);
}

/** The hover's Markdown, from the trace of the text up to the end of the hovered word. */
export function hoverMarkdown(t: Pick<TraceMessage, 'T' | 'tokens' | 'predictions'>): string {
  const last = t.predictions[t.T - 1];
  let md = `**LSTM Lens** · after \`${escapeMarkdown(tokenText(t.tokens[t.T - 1]))}\` the model expects:\n\n`;
  for (const p of last) md += `- \`${escapeMarkdown(tokenText(p.token))}\` ${(100 * p.p).toFixed(1)}%\n`;
  if ([t.tokens[t.T - 1], ...last.map((p) => p.token)].some((x) => /[ \n\t]/.test(x))) md += '\n␣ a space, ↵ a new line, ⇥ a tab';
  return md;
}
