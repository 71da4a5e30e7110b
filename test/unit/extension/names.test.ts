// How the extension host quotes names in its messages (src/extension/names.ts): a file name, a
// checkpoint's stored source name or a host name with a newline, a terminal escape or a
// bidirectional override stays one line with the control characters written as escapes; an
// ordinary name is unchanged; a token in the hover shows whitespace as the panel does. Compared
// with the expected escaped text, written out by hand.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { displayName, lockOwnerText, messageText, tokenText } from '../../../src/extension/names';

describe('names in host messages', () => {
  it('a file name with a newline and a terminal escape becomes one line of escapes', () => {
    assert.equal(displayName({ isUntitled: false, uri: { path: '/home/u/notes/line\nbreak\u001b[31m.txt' } }), 'line\\nbreak\\x1b[31m.txt');
  });
  it('an untitled document keeps its whole name; ordinary names are unchanged', () => {
    assert.equal(displayName({ isUntitled: true, uri: { path: 'Untitled-1' } }), 'Untitled-1');
    assert.equal(displayName({ isUntitled: false, uri: { path: '/w/fable.txt' } }), 'fable.txt');
    assert.equal(displayName({ isUntitled: false, uri: { path: '/w/écrit — 日本.txt' } }), 'écrit — 日本.txt');
  });
  it('a right-to-left override cannot reorder a message', () => {
    assert.equal(displayName({ isUntitled: false, uri: { path: '/w/evil\u202etxt.exe' } }), 'evil\\u202etxt.exe');
  });
  it("a worker's message (which may quote a stored source name) is one line", () => {
    assert.equal(messageText('the text differs from the one this model was trained on (a\r\nb\u0007)'), 'the text differs from the one this model was trained on (a\\r\\nb\\x07)');
  });
  it("the other window's host name in the lock message is escaped too", () => {
    const text = lockOwnerText({ pid: 42, host: 'box\n\u001b]0;pwned\u0007', started: 0, nonce: 'x' }, 5 * 60_000);
    assert.equal(text, 'another VS Code window (process 42 on box\\n\\x1b]0;pwned\\x07, since 5 minutes ago)');
  });
});

describe('tokens in the hover', () => {
  it('whitespace shows as the panel shows it: ␣ ↵ ⇥, and what cannot be shown is escaped', () => {
    assert.equal(tokenText(' '), '␣');
    assert.equal(tokenText('\n'), '↵');
    assert.equal(tokenText('\t'), '⇥');
    assert.equal(tokenText('a b'), 'a␣b');
    assert.equal(tokenText(''), '∅');
    assert.equal(tokenText('\x1b[31m'), '\\x1b[31m');
  });
});
