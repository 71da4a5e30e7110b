// Runs inside VS Code (extension host) under @vscode/test-electron. Plain CommonJS with
// node:assert, so it needs no build step and no test framework of its own.
const assert = require('node:assert/strict');
const vscode = require('vscode');

async function waitFor(what, predicate, timeoutMs = 120000) {
  const start = Date.now();
  for (;;) {
    if (await predicate()) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const tests = [
  ['trains on the active file, saves a model, and generates at the cursor as one undo step', async () => {
    const ext = vscode.extensions.getExtension('lstm-lens.lstm-lens');
    assert.ok(ext, 'the extension is installed');
    const api = await ext.activate();
    const config = vscode.workspace.getConfiguration('lstmLens');
    const small = { hiddenSize: 16, steps: 60, sequenceLength: 16, batchSize: 4, length: 30 };
    for (const [key, value] of Object.entries(small)) await config.update(key, value, vscode.ConfigurationTarget.Global);
    const text = 'Long ago, the mice had a general council to consider what measures they could take. '.repeat(20);
    const document = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
    const editor = await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('lstmLens.train');
    await api.whenIdle();
    assert.ok(api.hasModel(document.uri), 'a model is saved for the document');

    editor.selection = new vscode.Selection(document.lineAt(document.lineCount - 1).range.end, document.lineAt(document.lineCount - 1).range.end);
    const before = document.getText().length;
    await vscode.commands.executeCommand('lstmLens.generate');
    await waitFor('generated text', () => document.getText().length >= before + 30);
    await vscode.commands.executeCommand('undo');
    assert.equal(document.getText().length, before, 'one undo removes the whole generated text');
  }],
  ['refuses a setting out of range with a message that names it', async () => {
    const config = vscode.workspace.getConfiguration('lstmLens');
    await config.update('hiddenSize', 0, vscode.ConfigurationTarget.Global);
    const document = await vscode.workspace.openTextDocument({ content: 'abc '.repeat(100) });
    await vscode.window.showTextDocument(document);
    await vscode.commands.executeCommand('lstmLens.train');
    const api = vscode.extensions.getExtension('lstm-lens.lstm-lens').exports;
    assert.equal(api.hasModel(document.uri), false);
    await config.update('hiddenSize', undefined, vscode.ConfigurationTarget.Global);
  }],
];

exports.run = async function run() {
  let failed = 0;
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failed++;
      console.log(`not ok - ${name}\n  ${e && e.stack ? e.stack : e}`);
    }
  }
  console.log(`${tests.length - failed} passed, ${failed} failed`);
  if (failed > 0) throw new Error(`${failed} test(s) failed`);
};
