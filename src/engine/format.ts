// Numbers as people read them, shared by the command line, the extension and the panel.

/** 950 → "950", 12345 → "12.3k", 2500000 → "2.50M". */
export function formatRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** Seconds as m:ss. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * A name from outside (a file name, a checkpoint's stored source name, a token) as it may appear
 * inside a message: control characters (C0, DEL, C1), line and paragraph separators and the
 * bidirectional overrides are written as escapes, so a message stays one line and a terminal
 * never receives an escape sequence from a file. Long names are cut in the middle.
 */
export function printable(name: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  if (s.length > max) s = `${s.slice(0, Math.ceil((max - 1) / 2))}…${s.slice(s.length - Math.floor((max - 1) / 2))}`;
  return s;
}

/**
 * A message from elsewhere (an error that may quote what it received) as one line of at most `max`
 * characters: line breaks become spaces, and what is longer is cut with "...".
 */
export function oneLine(message: string, max: number): string {
  const s = message.replace(/[\r\n\u2028\u2029]+/g, ' ');
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
