// The integration suite on @vscode/test-electron: downloads a VS Code build and runs
// test/vscode/suite in it with the extension loaded from this folder. Machines that cannot
// download VS Code (no network) get a plain "not run" and exit status 3: never a claimed pass.
// (Where VS Code cannot be downloaded, the end-to-end test in test/e2e runs the packaged
// extension in code-server instead.)
import { runTests, downloadAndUnzipVSCode } from '@vscode/test-electron';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let vscodeExecutablePath;
try {
  vscodeExecutablePath = await downloadAndUnzipVSCode(process.env.LSTM_LENS_VSCODE_VERSION ?? 'stable');
} catch (e) {
  console.error(`test:vscode NOT RUN: VS Code could not be downloaded (${e instanceof Error ? e.message.split('\n')[0] : e}).`);
  console.error('This suite needs a machine that can reach the VS Code download servers; see test/e2e for the offline end-to-end test.');
  process.exit(3);
}
const workspace = mkdtempSync(join(tmpdir(), 'lstm-lens-vscode-'));
try {
  await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: root,
    extensionTestsPath: join(root, 'test', 'vscode', 'suite', 'index.cjs'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
} catch (e) {
  console.error(`test:vscode FAILED: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
