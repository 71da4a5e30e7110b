// A small library for end-to-end tests that run a packaged extension (.vsix) in a real VS Code:
// code-server (VS Code's server and workbench, on 127.0.0.1) driven like a person from headless Chromium
// through playwright-core. See test/e2e/README.md.
//
// Every wait is bounded and says what it waited for (and what it saw instead) when it times out.
// `stop()` kills code-server's whole process group and removes the temporary folders; it also runs when
// the Node process exits, so a failed test leaves nothing behind.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';

// This folder (from __filename: tsx sets it right even when an ES module imports this file).
const HERE = path.dirname(__filename);
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
const CODE_SERVER_DIR = path.join(REPO_ROOT, '.cache', 'e2e', 'code-server');
const CODE_SERVER_ENTRY = path.join(CODE_SERVER_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const SETUP_SCRIPT = path.join(HERE, 'setup.mjs');
export const SCREENSHOT_DIR = path.join(HERE, 'screenshots');
const CHROMIUM = '/usr/bin/chromium';

/** Chromium flags: root without a sandbox, no calls home on a closed network, WebGL by software (SwiftShader). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
];

/** User settings that keep the workbench quiet and predictable; the caller's settings are merged over them. */
export const DEFAULT_SETTINGS: Record<string, unknown> = {
  'telemetry.telemetryLevel': 'off',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.editor.enablePreview': false,
  'security.workspace.trust.enabled': false,
  'window.commandCenter': false,
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'files.autoSave': 'off',
  // Typed text goes in as typed: no suggestion widget to swallow an Enter.
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
  'editor.wordBasedSuggestions': 'off',
  'editor.acceptSuggestionOnEnter': 'off',
};

export interface StartOptions {
  /** The packaged extension to install. */
  vsix: string;
  /** The folder to open as the workspace. */
  workspace: string;
  /** User settings merged over DEFAULT_SETTINGS. */
  settings?: Record<string, unknown>;
  /** How long start-up may take in all (install, server, workbench); default 180 s. */
  startTimeoutMs?: number;
  /** The browser viewport; default 1400×900. */
  viewport?: { width: number; height: number };
  /** User keybindings (written to keybindings.json before start-up), e.g. to run a command with one key press. */
  keybindings?: Array<{ key: string; command: string; when?: string; args?: unknown }>;
}

export interface SeenText {
  /** Milliseconds since the harness started. */
  at: number;
  text: string;
}

export interface VSCode {
  page: Page;
  browser: Browser;
  port: number;
  url: string;
  workspace: string;
  userDataDir: string;
  extensionsDir: string;
  /** Output of `code-server --install-extension`. */
  installOutput: string;
  /** Ctrl+P, type the path, Enter; waits until its editor is the active one. */
  openFile(relativePath: string): Promise<void>;
  /** F1, type the command's palette title ("Category: Title"), choose it. */
  runCommand(title: string): Promise<void>;
  /** Chooses the first item of the open quick pick whose label matches. */
  pickQuickItem(label: RegExp | string, timeoutMs?: number): Promise<void>;
  /** The labels of the quick input's rows when it is open (a quick pick, the palette); null when it is closed. */
  quickInputRows(): Promise<string[] | null>;
  /** The folder an extension's globalStorageUri points to (under the user-data dir): "publisher.name". */
  globalStorageDir(extensionId: string): string;
  /**
   * The active editor's text, exactly: saves the editor (Ctrl+S), waits until it is no longer dirty,
   * and reads the file from disk. `relativePath` defaults to the file last opened with openFile().
   */
  editorText(relativePath?: string): Promise<string>;
  /** What the active editor renders (`.view-lines`): only the lines on screen, nbsp for spaces. For a quick look. */
  visibleEditorText(): Promise<string>;
  /** Texts of every status bar item shown now, icons left out. */
  statusBarText(): Promise<string[]>;
  /** Waits until a status bar item's text matches; returns the match. */
  waitForStatusBar(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Every distinct status bar text seen since start-up (or `since`), in order, even ones shown briefly. */
  statusBarHistory(since?: number): SeenText[];
  /** Texts of the notifications shown now (toasts, and the notification center when open). */
  notifications(): Promise<string[]>;
  /** Every notification text seen since start-up (or `since`), in order, even toasts that went away. */
  notificationHistory(since?: number): SeenText[];
  /** Waits until a notification (shown now, or seen since `since`) matches; returns the match. */
  waitForNotification(pattern: RegExp, timeoutMs?: number, since?: number): Promise<RegExpMatchArray>;
  /** Milliseconds since the harness started, for the `since` arguments. */
  now(): number;
  /** Focuses the active editor (keeping its cursor) and inserts the text as typed input. */
  typeInEditor(text: string): Promise<void>;
  /** Focuses the active editor and presses Ctrl+End. */
  setCursorToEnd(): Promise<void>;
  /** Focuses the active editor without moving its cursor. */
  focusEditor(): Promise<void>;
  /**
   * "Developer: Reload Window", then waits for the new workbench. With `key`, presses that key (a
   * keybinding of workbench.action.reloadWindow) instead of going through the command palette.
   */
  reloadWindow(key?: string): Promise<void>;
  /** The first frame (webviews are nested iframes) holding an element that matches; waits for it. */
  frameWith(selector: string, timeoutMs?: number): Promise<Frame>;
  /** Saves test/e2e/screenshots/NAME.png; returns its path. */
  screenshot(name: string): Promise<string>;
  /** The extension host's log files under the user-data dir's logs/, concatenated, each under a header. */
  extensionHostLog(): string;
  /**
   * Error entries of the extension host's log (`[error]` with their stack), such as an uncaught exception
   * or an unhandled rejection in an extension; only those whose text contains `needle` when given (an
   * extension's id such as "publisher.name" matches its stack frames, which run from its install folder).
   */
  extensionHostErrors(needle?: string): string[];
  /** What extensions wrote with console.log/error in the extension host (forwarded to the page's console). */
  extensionHostConsole(): string[];
  /** code-server's own stdout and stderr so far. */
  serverLog(): string;
  /** Errors the page logged in its console (the workbench's side). */
  consoleErrors(): string[];
  /** Closes the browser, kills code-server and its children, removes the temporary folders. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_WAIT_MS = 30_000;
const POLL_MS = 100;
const startedAt = Date.now();
const elapsed = (): number => Date.now() - startedAt;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Polls `probe` until it returns a value other than undefined; on timeout throws naming `what` and the last `seen()`. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = DEFAULT_WAIT_MS, seen?: () => Promise<string> | string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      let saw = '';
      if (seen) {
        try {
          saw = `; saw: ${await seen()}`;
        } catch (e) {
          saw = `; (could not read what was there: ${(e as Error).message})`;
        }
      }
      const why = lastError ? `; last error: ${(lastError as Error).message.split('\n')[0]}` : '';
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${saw}${why}`);
    }
    await sleep(POLL_MS);
  }
}

/** Installs code-server with test/e2e/setup.mjs unless it is already there. */
export function ensureCodeServer(): void {
  if (isCodeServerInstalled()) return;
  const r = spawnSync(process.execPath, [SETUP_SCRIPT], { stdio: 'inherit' });
  if (r.status !== 0 || !isCodeServerInstalled()) {
    throw new Error(`code-server is not installed and \`node test/e2e/setup.mjs\` failed (exit ${r.status ?? r.signal}); see its message above`);
  }
}

function isCodeServerInstalled(): boolean {
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(CODE_SERVER_DIR, 'installed.json'), 'utf8')) as { version?: string };
    return marker.version === CODE_SERVER_VERSION && fs.existsSync(CODE_SERVER_ENTRY);
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

const tail = (text: string, lines = 30): string => text.trimEnd().split('\n').slice(-lines).join('\n');

// Runs in the page (and again after every reload) before the workbench loads: reports every new
// notification text and every status bar text to the test through exposed bindings, so that a toast
// that comes and goes between two polls, or a status bar text shown for a moment, is still seen.
const OBSERVER_SCRIPT = `(() => {
  if (window.top !== window) return;
  const seenNotes = new Set();
  const lastStatus = new Map();
  let scheduled = false;
  const scan = () => {
    scheduled = false;
    for (const el of document.querySelectorAll('.notification-list-item-message')) {
      const text = (el.textContent || '').trim();
      if (text && !seenNotes.has(text)) { seenNotes.add(text); try { window.__e2eNotification(text); } catch {} }
    }
    const items = document.querySelectorAll('#workbench\\\\.parts\\\\.statusbar .statusbar-item');
    items.forEach((el, i) => {
      const text = (el.textContent || '').replace(/\\s+/g, ' ').trim();
      const key = el.id || String(i);
      if (text && lastStatus.get(key) !== text) { lastStatus.set(key, text); try { window.__e2eStatus(text); } catch {} }
    });
  };
  const start = () => {
    new MutationObserver(() => { if (!scheduled) { scheduled = true; setTimeout(scan, 50); } })
      .observe(document.documentElement, { subtree: true, childList: true, characterData: true });
  };
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();`;

const ACTIVE_EDITOR = '.editor-group-container.active .editor-instance .monaco-editor';
// Monaco takes keyboard input through a hidden textarea, or an EditContext div in newer versions.
const EDITOR_INPUT = `${ACTIVE_EDITOR} textarea.inputarea, ${ACTIVE_EDITOR} .native-edit-context`;
const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

export async function startVSCode(options: StartOptions): Promise<VSCode> {
  const startTimeout = options.startTimeoutMs ?? 180_000;
  const vsix = path.resolve(options.vsix);
  const workspace = path.resolve(options.workspace);
  if (!fs.existsSync(vsix)) throw new Error(`the extension package ${vsix} does not exist`);
  if (!fs.statSync(workspace).isDirectory()) throw new Error(`the workspace ${workspace} is not a folder`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (see test/e2e/README.md)`);
  ensureCodeServer();

  const tempRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-lens-e2e-'));
  const userDataDir = path.join(tempRoot, 'user-data');
  const extensionsDir = path.join(tempRoot, 'extensions');
  const xdgDir = path.join(tempRoot, 'xdg');
  for (const dir of [userDataDir, extensionsDir, path.join(userDataDir, 'User'), xdgDir]) fs.mkdirSync(dir, { recursive: true });
  const serverLogFile = path.join(tempRoot, 'code-server.log');
  let serverOutput = '';
  let server: ChildProcess | undefined;
  let serverExited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let stopped = false;
  const notificationLog: SeenText[] = [];
  const statusLog: SeenText[] = [];
  const consoleErrorLog: string[] = [];
  const extensionHostConsoleLog: string[] = [];
  let lastOpened: string | undefined;

  // code-server keeps its config and data out of the user's home.
  const serverEnv = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(xdgDir, 'config'),
    XDG_DATA_HOME: path.join(xdgDir, 'data'),
    XDG_CACHE_HOME: path.join(xdgDir, 'cache'),
  };
  const commonArgs = ['--config', path.join(tempRoot, 'config.yaml'), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

  const killServer = (): void => {
    if (server?.pid && !serverExited) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const onExit = (): void => {
    killServer();
    try {
      fs.rmSync(tempRoot, { recursive: true, force: true });
    } catch {
      /* best effort at exit */
    }
  };
  // On Ctrl+C or the test runner's SIGTERM, end code-server too (Chromium ends with its pipe to us).
  const onSignal = (signal: NodeJS.Signals): void => {
    onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await Promise.race([browser?.close(), sleep(10_000)]);
    } catch {
      /* the browser may be gone already */
    }
    if (server?.pid && !serverExited) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const deadline = Date.now() + 5_000;
      while (!serverExited && Date.now() < deadline) await sleep(100);
      killServer();
    }
    process.removeListener('exit', onExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    fs.rmSync(tempRoot, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    // 1. Install the extension.
    const install = spawnSync(process.execPath, [CODE_SERVER_ENTRY, ...commonArgs, '--install-extension', vsix], {
      encoding: 'utf8',
      env: serverEnv,
      timeout: 120_000,
    });
    const installOutput = `${install.stdout ?? ''}${install.stderr ?? ''}`;
    if (install.status !== 0 || !/successfully installed/i.test(installOutput)) {
      throw new Error(`installing ${path.basename(vsix)} failed (exit ${install.status ?? install.signal}):\n${tail(installOutput)}`);
    }

    // 2. User settings (and keybindings, when given).
    fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...(options.settings ?? {}) }, null, 2));
    if (options.keybindings) fs.writeFileSync(path.join(userDataDir, 'User', 'keybindings.json'), JSON.stringify(options.keybindings, null, 2));

    // 3. code-server, in a process group of its own so that stop() ends its children too.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
    const log = fs.openSync(serverLogFile, 'w');
    server = spawn(
      process.execPath,
      [
        CODE_SERVER_ENTRY,
        ...commonArgs,
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        workspace,
      ],
      { env: serverEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const record = (chunk: Buffer): void => {
      serverOutput += chunk.toString();
      fs.writeSync(log, chunk);
    };
    server.stdout?.on('data', record);
    server.stderr?.on('data', record);
    server.on('exit', (code, signal) => {
      serverExited = { code, signal };
      fs.closeSync(log);
    });
    await waitUntil(
      `code-server to answer on 127.0.0.1:${port}/healthz`,
      async () => {
        if (serverExited) throw new Error(`code-server exited (${serverExited.code ?? serverExited.signal}):\n${tail(serverOutput)}`);
        const response = await fetch(`http://127.0.0.1:${port}/healthz`);
        return response.ok ? true : undefined;
      },
      60_000,
      () => tail(serverOutput, 10),
    ).catch((e: Error) => {
      throw new Error(`${e.message}${serverExited ? '' : `\ncode-server output:\n${tail(serverOutput)}`}`);
    });

    // 4. Chromium.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
    context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 900 } });
    await context.exposeFunction('__e2eNotification', (text: string) => {
      notificationLog.push({ at: elapsed(), text });
    });
    await context.exposeFunction('__e2eStatus', (text: string) => {
      const last = statusLog.at(-1);
      if (last?.text !== text) statusLog.push({ at: elapsed(), text });
    });
    await context.addInitScript({ content: OBSERVER_SCRIPT });
    const page = await context.newPage();
    page.setDefaultTimeout(DEFAULT_WAIT_MS);
    page.on('console', (message) => {
      const text = message.text();
      if (message.type() === 'error') consoleErrorLog.push(text);
      // The extension host forwards console output as "%c[Extension Host] %cTEXT color: ...".
      if (text.includes('[Extension Host]')) extensionHostConsoleLog.push(text.replace(/%c/g, '').replace(/\s*color: [^ ]*\s*/g, ' ').trim());
    });
    page.on('pageerror', (error) => consoleErrorLog.push(`pageerror: ${error.message}`));

    const waitForWorkbench = async (timeoutMs: number): Promise<void> => {
      await page.locator('.monaco-workbench').first().waitFor({ state: 'visible', timeout: timeoutMs });
      // The workbench is usable once its status bar and an editor area are there.
      await page.locator('#workbench\\.parts\\.statusbar').waitFor({ state: 'visible', timeout: timeoutMs });
      await page.locator('#workbench\\.parts\\.editor').waitFor({ state: 'visible', timeout: timeoutMs });
    };

    await page.goto(url, { timeout: 60_000 });
    await waitForWorkbench(Math.max(30_000, startTimeout - 60_000)).catch((e: Error) => {
      throw new Error(`timed out waiting for the VS Code workbench (.monaco-workbench) at ${url}: ${e.message.split('\n')[0]}`);
    });

    const statusBarText = async (): Promise<string[]> => {
      const texts = await page.evaluate<string[]>(
        `[...document.querySelectorAll('#workbench\\\\.parts\\\\.statusbar .statusbar-item')].map((el) => (el.textContent || '').replace(/\\s+/g, ' ').trim()).filter(Boolean)`,
      );
      return texts;
    };

    const notifications = async (): Promise<string[]> =>
      page.evaluate<string[]>(
        `[...document.querySelectorAll('.notifications-toasts .notification-list-item-message, .notifications-center .notification-list-item-message')].map((el) => (el.textContent || '').trim()).filter(Boolean)`,
      );

    const quickRowsText = async (): Promise<string> => {
      const rows = await page.locator(QUICK_ROWS).allTextContents();
      return rows.length ? rows.slice(0, 8).map((r) => JSON.stringify(r.trim())).join(', ') : '(no rows)';
    };

    const openQuickInput = async (key: string, value: string): Promise<void> => {
      await page.keyboard.press('Escape');
      await page.keyboard.press(key);
      const box = page.locator(QUICK_INPUT_BOX);
      await box.waitFor({ state: 'visible', timeout: 15_000 }).catch(() => {
        throw new Error(`pressing ${key} did not open the quick input`);
      });
      await box.fill(value);
    };

    const chooseRow = async (what: string, matches: (label: string) => boolean, timeoutMs: number): Promise<void> => {
      // Find the row and click it in one go, again if the list changed in between (quick open
      // re-sorts as results arrive: a row found at index 1 may be the only one, at 0, a moment later).
      await waitUntil(
        what,
        async () => {
          // The label's text only: a row also holds the keybinding, the description, a separator's label.
          const labels = await page.evaluate<string[]>(
            `[...document.querySelectorAll(${JSON.stringify(QUICK_ROWS)})].map((row) => { const l = row.querySelector('.label-name') || row; return (l.textContent || '').trim(); })`,
          );
          const i = labels.findIndex(matches);
          if (i < 0) return undefined;
          return (await page.locator(QUICK_ROWS).nth(i).click({ timeout: 2_000 }).then(() => true, () => undefined));
        },
        timeoutMs + 10_000,
        quickRowsText,
      );
      await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {
        throw new Error(`the quick input stayed open after choosing ${what}`);
      });
    };

    const focusEditor = async (): Promise<void> => {
      const input = page.locator(EDITOR_INPUT).first();
      await input.waitFor({ state: 'attached', timeout: DEFAULT_WAIT_MS }).catch(() => {
        throw new Error('no active text editor to focus');
      });
      await input.focus();
      await waitUntil('the active editor to take the keyboard focus', async () =>
        (await page.locator(`${ACTIVE_EDITOR}.focused`).count()) > 0 ? true : undefined, 5_000);
    };

    const activeTab = page.locator('.editor-group-container.active .tabs-container .tab.active');

    const vscode: VSCode = {
      page,
      browser,
      port,
      url,
      workspace,
      userDataDir,
      extensionsDir,
      installOutput,

      async openFile(relativePath: string): Promise<void> {
        const file = path.join(workspace, relativePath);
        if (!fs.existsSync(file)) throw new Error(`openFile: ${file} does not exist`);
        const base = path.basename(relativePath);
        // File search starts when the workbench does: re-type the query until the file shows up.
        await waitUntil(
          `quick open (Ctrl+P) to list ${relativePath}`,
          async () => {
            await openQuickInput('Control+P', relativePath);
            const found = await waitUntil(`a row for ${base}`, async () => {
              const labels = await page.locator(`${QUICK_ROWS} .label-name`).allTextContents();
              return labels.some((l) => l.trim() === base) ? true : undefined;
            }, 3_000).catch(() => undefined);
            return found;
          },
          DEFAULT_WAIT_MS,
          quickRowsText,
        );
        await chooseRow(`the quick open row for ${relativePath}`, (label) => label === base, 5_000);
        await waitUntil(`the editor tab of ${relativePath} to be active`, async () => {
          const label = (await activeTab.getAttribute('aria-label', { timeout: 1_000 })) ?? '';
          return label.includes(base) && (await page.locator(ACTIVE_EDITOR).count()) > 0 ? true : undefined;
        }, DEFAULT_WAIT_MS, async () => `active tab ${JSON.stringify(await activeTab.getAttribute('aria-label', { timeout: 1_000 }).catch(() => null))}`);
        lastOpened = relativePath;
      },

      async runCommand(title: string): Promise<void> {
        await openQuickInput('F1', `>${title}`);
        await chooseRow(`the command "${title}" in the command palette`, (label) => label === title, DEFAULT_WAIT_MS);
      },

      async pickQuickItem(label: RegExp | string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
        const pattern = typeof label === 'string' ? new RegExp(`^${escapeRegExp(label)}$`) : label;
        await page.locator(QUICK_INPUT).waitFor({ state: 'visible', timeout: timeoutMs }).catch(() => {
          throw new Error(`pickQuickItem(${pattern}): no quick pick is open`);
        });
        await chooseRow(`a quick pick item matching ${pattern}`, (text) => pattern.test(text), timeoutMs);
      },

      async quickInputRows(): Promise<string[] | null> {
        if (!(await page.locator(QUICK_INPUT).first().isVisible())) return null;
        return page.evaluate<string[]>(
          `[...document.querySelectorAll(${JSON.stringify(QUICK_ROWS)})].map((row) => { const l = row.querySelector('.label-name') || row; return (l.textContent || '').trim(); })`,
        );
      },

      globalStorageDir: (extensionId: string) => path.join(userDataDir, 'User', 'globalStorage', extensionId.toLowerCase()),

      async editorText(relativePath?: string): Promise<string> {
        const file = relativePath ?? lastOpened;
        if (!file) throw new Error('editorText: no file given and none opened with openFile()');
        await focusEditor();
        await page.keyboard.press('Control+S');
        await waitUntil(`${file} to be saved (its tab no longer dirty)`, async () => {
          const classes = (await activeTab.getAttribute('class', { timeout: 1_000 })) ?? '';
          return classes.split(/\s+/).includes('dirty') ? undefined : true;
        }, 15_000, async () => `tab classes ${JSON.stringify(await activeTab.getAttribute('class', { timeout: 1_000 }).catch(() => null))}`);
        return fs.readFileSync(path.join(workspace, file), 'utf8');
      },

      async visibleEditorText(): Promise<string> {
        return (await page.locator(`${ACTIVE_EDITOR} .view-lines`).first().innerText()).replace(/\u00a0/g, ' ');
      },

      statusBarText,

      async waitForStatusBar(pattern: RegExp, timeoutMs = DEFAULT_WAIT_MS): Promise<RegExpMatchArray> {
        return waitUntil(
          `a status bar item matching ${pattern}`,
          async () => {
            for (const text of await statusBarText()) {
              const m = text.match(pattern);
              if (m) return m;
            }
            return undefined;
          },
          timeoutMs,
          async () => JSON.stringify(await statusBarText()),
        );
      },

      statusBarHistory: (since = 0) => statusLog.filter((s) => s.at >= since),

      notifications,

      notificationHistory: (since = 0) => notificationLog.filter((s) => s.at >= since),

      async waitForNotification(pattern: RegExp, timeoutMs = DEFAULT_WAIT_MS, since = 0): Promise<RegExpMatchArray> {
        return waitUntil(
          `a notification matching ${pattern}`,
          async () => {
            for (const text of [...(await notifications()), ...notificationLog.filter((n) => n.at >= since).map((n) => n.text)]) {
              const m = text.match(pattern);
              if (m) return m;
            }
            return undefined;
          },
          timeoutMs,
          async () => JSON.stringify(notificationLog.filter((n) => n.at >= since).map((n) => n.text)),
        );
      },

      now: elapsed,

      async typeInEditor(text: string): Promise<void> {
        await focusEditor();
        await page.keyboard.insertText(text);
      },

      async setCursorToEnd(): Promise<void> {
        await focusEditor();
        await page.keyboard.press('Control+End');
      },

      focusEditor,

      async reloadWindow(key?: string): Promise<void> {
        await page.evaluate('window.__e2eBeforeReload = true');
        if (key) await page.keyboard.press(key);
        else await vscode.runCommand('Developer: Reload Window');
        await waitUntil('the page to reload', async () =>
          (await page.evaluate<boolean>('window.__e2eBeforeReload === true').catch(() => true)) ? undefined : true, 60_000);
        await waitForWorkbench(120_000).catch((e: Error) => {
          throw new Error(`timed out waiting for the workbench after the reload: ${e.message.split('\n')[0]}`);
        });
      },

      async frameWith(selector: string, timeoutMs = DEFAULT_WAIT_MS): Promise<Frame> {
        return waitUntil(
          `a frame holding ${selector}`,
          async () => {
            for (const frame of page.frames()) {
              if (frame.isDetached()) continue;
              const found = await frame.$(selector).catch(() => null);
              if (found) {
                await found.dispose();
                return frame;
              }
            }
            return undefined;
          },
          timeoutMs,
          () => `${page.frames().length} frames: ${page.frames().map((f) => f.url().slice(0, 80)).join(', ')}`,
        );
      },

      async screenshot(name: string): Promise<string> {
        fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
        const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
        await page.screenshot({ path: file });
        return file;
      },

      extensionHostLog(): string {
        return listFiles(path.join(userDataDir, 'logs'))
          .filter((f) => /exthost/i.test(path.relative(userDataDir, f)))
          .map((f) => `=== ${path.relative(userDataDir, f)}\n${fs.readFileSync(f, 'utf8')}`)
          .join('\n');
      },

      extensionHostErrors(needle?: string): string[] {
        const entries: string[] = [];
        for (const file of listFiles(path.join(userDataDir, 'logs')).filter((f) => /exthost\d*[/\\]remoteexthost\.log$/i.test(f))) {
          // An entry runs from its "YYYY-MM-DD hh:mm:ss.mmm [level]" line to the next one (stacks span lines).
          for (const entry of fs.readFileSync(file, 'utf8').split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[)/)) {
            if (/^\S+ \S+ \[error\]/.test(entry) && (!needle || entry.includes(needle))) entries.push(entry.trimEnd());
          }
        }
        return entries;
      },

      extensionHostConsole: () => [...extensionHostConsoleLog],

      serverLog: () => serverOutput,

      consoleErrors: () => [...consoleErrorLog],

      stop,
    };
    return vscode;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Runs `body` with a started VS Code and always stops it; on failure, saves a screenshot named `failure-NAME`. */
export async function withVSCode<T>(options: StartOptions & { name: string }, body: (vscode: VSCode) => Promise<T>): Promise<T> {
  const vscode = await startVSCode(options);
  try {
    return await body(vscode);
  } catch (e) {
    const shot = await vscode.screenshot(`failure-${options.name}`).catch(() => undefined);
    if (e instanceof Error) {
      const errors = vscode.extensionHostErrors().map((entry) => entry.split('\n').slice(0, 6).join('\n'));
      const consoleLines = vscode.extensionHostConsole().slice(-20);
      if (shot) e.message += `\n--- screenshot: ${path.relative(REPO_ROOT, shot)}`;
      if (errors.length) e.message += `\n--- extension host errors ---\n${errors.join('\n')}`;
      if (consoleLines.length) e.message += `\n--- extension host console (last lines) ---\n${consoleLines.join('\n')}`;
    }
    throw e;
  } finally {
    await vscode.stop();
  }
}
