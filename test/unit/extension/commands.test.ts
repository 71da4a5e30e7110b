// The commands and menus table (src/extension/commands.ts): package.json contributes exactly it
// (npm run sync:settings writes it), every command under the LSTM Lens category with its title, and
// every menu entry names a declared command.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS, contributedCommands, contributedMenus } from '../../../src/extension/commands';

const ROOT = join(__dirname, '..', '..', '..');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

describe('commands and menus', () => {
  it('package.json declares every command under the LSTM Lens category', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const commands = new Map(manifest.contributes.commands.map((c: { command: string; title: string; category: string }) => [c.command, c]));
    for (const [id, title] of [['lstmLens.train', 'Train LSTM on This File'], ['lstmLens.stop', 'Stop Training'], ['lstmLens.generate', 'Generate Text at Cursor'], ['lstmLens.inspect', 'Inspect States'], ['lstmLens.forget', 'Forget Model for This File'], ['lstmLens.forgetMissing', 'Forget Models of Missing Files']]) {
      const c = commands.get(id) as { title: string; category: string } | undefined;
      assert.ok(c, id);
      assert.equal(c.title, title);
      assert.equal(c.category, 'LSTM Lens');
    }
  });

  it("package.json contributes exactly the commands and menus tables (run 'npm run sync:settings' after changing them)", () => {
    assert.deepEqual(manifest.contributes.commands, contributedCommands());
    assert.deepEqual(manifest.contributes.menus, contributedMenus());
  });

  it('the table is what the manifest had: ids, icons, and where each command is offered (the commands added since left out here)', () => {
    const original = new Set(['lstmLens.train', 'lstmLens.stop', 'lstmLens.generate', 'lstmLens.inspect', 'lstmLens.forget', 'lstmLens.forgetMissing']);
    assert.deepEqual(Object.values(COMMANDS).map((c) => c.id).filter((id) => original.has(id)), [...original]);
    assert.deepEqual(contributedCommands().filter((c) => original.has(c.command)).map((c) => c.icon ?? null), ['$(play)', '$(debug-stop)', '$(sparkle)', '$(graph)', '$(trash)', null]);
    const all = contributedMenus();
    const menus = Object.fromEntries(Object.entries(all).map(([k, items]) => [k, items.filter((m) => original.has(m.command))]));
    assert.deepEqual(menus['editor/title'], [
      { command: 'lstmLens.train', group: 'navigation@90', when: '!lstmLens.training' },
      { command: 'lstmLens.stop', group: 'navigation@90', when: 'lstmLens.training' },
    ]);
    assert.deepEqual(menus.commandPalette.map((m) => `${m.command} ${m.when}`), ['lstmLens.train editorIsOpen', 'lstmLens.stop lstmLens.training', 'lstmLens.generate editorIsOpen', 'lstmLens.forget editorIsOpen']);
    assert.deepEqual(menus['editor/context'].map((m) => m.command), ['lstmLens.train', 'lstmLens.generate', 'lstmLens.inspect']);
  });

  it('every menu entry names a declared command, and the extension registers each command of the table by its id', () => {
    const declared = new Set(manifest.contributes.commands.map((c: { command: string }) => c.command));
    for (const items of Object.values(manifest.contributes.menus) as Array<Array<{ command: string }>>) for (const m of items) assert.ok(declared.has(m.command), m.command);
    const source = readFileSync(join(ROOT, 'src', 'extension', 'extension.ts'), 'utf8');
    assert.match(source, /registerCommand\(COMMANDS\[key as CommandKey\]\.id/);
    assert.match(source, /const commands: Record<CommandKey, /);
  });

  it('Show Surprise, Show Gain over N-gram and Why This Prediction? are in the palette with an editor open; Why and Surprise in the context menu', () => {
    const menus = contributedMenus();
    for (const id of ['lstmLens.showSurprise', 'lstmLens.showGain', 'lstmLens.whyPrediction']) {
      assert.ok(menus.commandPalette.some((m) => m.command === id && m.when === 'editorIsOpen'), id);
    }
    assert.deepEqual(menus['editor/context'].filter((m) => /why|surprise/i.test(m.command)).map((m) => m.command), ['lstmLens.whyPrediction', 'lstmLens.showSurprise']);
    assert.equal(COMMANDS.showSurprise.title, 'Show Surprise');
    assert.equal(COMMANDS.whyPrediction.title, 'Why This Prediction?');
  });
});
