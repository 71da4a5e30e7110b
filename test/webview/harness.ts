// Headless Chromium around the real Inspect States page: the page of src/extension/panelHtml.ts
// with the built dist/webview.js and dist/webview.css, served from 127.0.0.1 so that the CSP's
// cspSource is that origin, and a stand-in for acquireVsCodeApi that records what the panel posts
// and keeps its state as JSON (as VS Code does).

import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeNonce, panelHtml } from '../../src/extension/panelHtml';
import type { HostToPanel } from '../../src/protocol/panel';
import { SOFTWARE_WEBGL_ARGS } from './gpu-lab/launch';
import { decodeRecording } from './recording';
import { THEMES, type ThemeName } from './themes';

export const ROOT = join(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');

export function loadRecording(name: 'article' | 'fable-char'): HostToPanel[] {
  return decodeRecording(JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'panel', `${name}.json`), 'utf8'))) as HostToPanel[];
}

export interface PanelServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves the page at / and the bundle at /dist/webview.{js,css}; nothing else. */
export async function startServer(): Promise<PanelServer> {
  for (const f of ['webview.js', 'webview.css']) {
    if (!existsSync(join(DIST, f))) throw new Error(`dist/${f} is missing: run npm run build first`);
  }
  let origin = '';
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/' || url.startsWith('/?')) {
      const html = panelHtml({ scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/dist/webview.css`, cspSource: origin, nonce: makeNonce() });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return;
    }
    const m = /^\/dist\/(webview\.(?:js|css)(?:\.map)?)$/.exec(url);
    if (m) {
      const type = m[1].endsWith('.css') ? 'text/css' : m[1].endsWith('.js') ? 'text/javascript' : 'application/json';
      res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store' });
      res.end(readFileSync(join(DIST, m[1])));
      return;
    }
    // Chromium asks for a favicon whatever the CSP says; VS Code's webviews do not.
    res.writeHead(url === '/favicon.ico' ? 204 : 404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Headless Chromium; with `webgl`, with software WebGL2 (SwiftShader) for the GPU path. */
export function launchBrowser(options: { webgl?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...(options.webgl ? SOFTWARE_WEBGL_ARGS : []), '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export interface Panel {
  page: Page;
  /** Console lines and page errors seen so far. */
  console: Array<{ type: string; text: string }>;
  errors: string[];
  close(): Promise<void>;
}

export interface OpenOptions {
  theme?: ThemeName;
  /** State the stand-in's getState returns (as a page saved it before). */
  state?: unknown;
  width?: number;
  height?: number;
  /** The page without OffscreenCanvas (so GPU training runs on its main thread). */
  noOffscreenCanvas?: boolean;
  /** The page's canvases without WebGL2. */
  noWebGL2?: boolean;
  /** The page's WebGL2 contexts kept in window.__gl2 as they are made (to lose one on purpose). */
  captureWebGL2?: boolean;
}

/** The stand-in for VS Code's API and theme, run before the page's own script. */
function initScript(state: unknown, theme: ThemeName | undefined, o: OpenOptions = {}): string {
  const t = theme ? THEMES[theme] : null;
  return `(() => {
  const theme = ${JSON.stringify(t)};
  ${o.noOffscreenCanvas ? 'delete window.OffscreenCanvas;' : ''}
  ${o.noWebGL2 ? "const getContext = HTMLCanvasElement.prototype.getContext; HTMLCanvasElement.prototype.getContext = function (kind, ...rest) { return kind === 'webgl2' ? null : getContext.call(this, kind, ...rest); };" : ''}
  ${o.captureWebGL2 ? "window.__gl2 = []; const original = HTMLCanvasElement.prototype.getContext; HTMLCanvasElement.prototype.getContext = function (kind, ...rest) { const c = original.call(this, kind, ...rest); if (kind === 'webgl2' && c) window.__gl2.push(c); return c; };" : ''}
  window.__posted = [];
  // The GPU relay's messages carry typed arrays (checkpoints, traces): kept as VS Code's structured clone keeps them.
  window.__gpu = [];
  window.__state = ${JSON.stringify(state ?? null)};
  window.__stateWrites = 0;
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber + ' ' + e.sample);
  });
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may be called only once');
    acquired = true;
    return Object.freeze({
      postMessage: (m) => { if (m && m.type === 'gpu') window.__gpu.push(structuredClone(m)); else window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: () => window.__state === null ? undefined : JSON.parse(JSON.stringify(window.__state)),
      setState: (s) => { window.__state = JSON.parse(JSON.stringify(s)); window.__stateWrites += 1; return s; },
    });
  };
  if (theme) {
    // The document is still empty when this runs: dress <html> and <body> as soon as they exist.
    let root = false;
    let body = false;
    const dress = () => {
      if (!root && document.documentElement) {
        root = true;
        for (const [k, v] of Object.entries(theme.vars)) document.documentElement.style.setProperty(k, v);
      }
      if (!body && document.body) {
        body = true;
        document.body.classList.add(theme.bodyClass);
        document.body.setAttribute('data-vscode-theme-kind', theme.kind);
      }
      return root && body;
    };
    if (!dress()) {
      const o = new MutationObserver(() => { if (dress()) o.disconnect(); });
      o.observe(document, { childList: true, subtree: true });
    }
  }
})();`;
}

export async function openPanel(browser: Browser, server: PanelServer, o: OpenOptions = {}): Promise<Panel> {
  const context = await browser.newContext({ viewport: { width: o.width ?? 1100, height: o.height ?? 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const panel: Panel = { page, console: [], errors: [], close: () => context.close() };
  page.on('console', (m) => panel.console.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => panel.errors.push(e.stack ?? e.message));
  await page.addInitScript({ content: initScript(o.state, o.theme, o) });
  await page.goto(`${server.origin}/`);
  await page.waitForFunction(() => (window as unknown as { __posted: unknown[] }).__posted.length > 0);
  return panel;
}

/** Posts messages as the host would, waits until the panel has received them and drawn. */
export async function post(page: Page, messages: readonly unknown[]): Promise<void> {
  // (Functions given to the page must not declare named functions: tsx would wrap them in a helper
  // that exists only in Node.)
  await page.evaluate(
    (msgs) =>
      new Promise<void>((resolve) => {
        if (msgs.length === 0) return resolve();
        let seen = 0;
        const done = new AbortController();
        window.addEventListener(
          'message',
          () => {
            seen += 1;
            if (seen === msgs.length) {
              done.abort();
              resolve();
            }
          },
          { signal: done.signal },
        );
        for (const m of msgs) window.postMessage(m, '*');
      }),
    messages,
  );
  await settle(page);
}

/** Two animation frames: whatever was scheduled has been drawn. */
export async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}

export async function posted(page: Page): Promise<Array<Record<string, unknown>>> {
  return page.evaluate(() => (window as unknown as { __posted: Array<Record<string, unknown>> }).__posted);
}

/** Errors of the page: exceptions, console errors, and CSP violations of any kind. */
export async function problems(panel: Panel): Promise<string[]> {
  const violations = await panel.page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
  return [
    ...panel.errors.map((e) => `page error: ${e}`),
    ...panel.console.filter((c) => c.type === 'error' || /Content Security Policy/i.test(c.text)).map((c) => `console ${c.type}: ${c.text}`),
    ...violations.map((v) => `CSP violation: ${v}`),
  ];
}

export async function showTab(page: Page, id: string): Promise<void> {
  await page.click(`#tab-${id}`);
  await page.waitForFunction((tab) => {
    const view = document.getElementById(`view-${tab}`);
    return !!view && !view.hidden && view.getBoundingClientRect().height > 0;
  }, id);
  await settle(page);
}

/** Opens a panel, runs the body, and fails on any page error or CSP violation on the way. */
export async function withPanel(browser: Browser, server: PanelServer, options: OpenOptions | undefined, body: (panel: Panel) => Promise<void>): Promise<void> {
  const panel = await openPanel(browser, server, options);
  try {
    await body(panel);
    assert.deepEqual(await problems(panel), []);
  } finally {
    await panel.close();
  }
}

/**
 * One page server and one headless Chromium for a test file: started before its tests, closed after
 * them. `withPanel` opens a panel on them as the free function does.
 */
export function panelHostForFile(): { withPanel: (options: OpenOptions | undefined, body: (panel: Panel) => Promise<void>) => Promise<void> } {
  let server: PanelServer | undefined;
  let browser: Browser | undefined;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    withPanel: (options, body) => {
      if (!browser || !server) throw new Error('the panel host starts before the tests');
      return withPanel(browser, server, options, body);
    },
  };
}
