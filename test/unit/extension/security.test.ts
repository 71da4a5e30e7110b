// Security by inspection: no string is ever compiled as code (in our sources, and in the bundles
// that ship, dependencies included), no markup is built from strings, the Inspect States page
// runs under a strict Content Security Policy, the manifest says how the extension behaves in
// untrusted and virtual workspaces, the package holds only what it runs, and a checkpoint is data:
// JavaScript in its metadata stays a string, a pickle is refused.
//
// An exception in the sources must say why on the line itself or the one before, with the marker
// "security-reviewed:" and a reason.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeCheckpoint, encodeCheckpoint } from '../../../src/engine/checkpoint';
import { InputError } from '../../../src/engine/config';
import { Trainer } from '../../../src/engine/trainer';
import { contentSecurityPolicy, makeNonce, panelHtml } from '../../../src/extension/panelHtml';
import { assemble, splitFile, toJson } from '../../scripts/fuzz-checkpoint';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const scratch = mkdtempSync(join(tmpdir(), 'lstm-lens-security-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const MARKER = 'security-reviewed:';

/** What must not appear in code, each with a pattern that finds it on a line. */
const FORBIDDEN: Array<[string, RegExp]> = [
  ['eval(', /(^|[^\w$.])eval\s*\(/],
  ['new Function(', /\bnew\s+Function\s*\(/],
  ['Function( called as a compiler', /(^|[^\w$.])(?<!new\s+)Function\s*\(\s*['"`]/],
  ['setTimeout / setInterval with a string', /\bset(Timeout|Interval)\s*\(\s*['"`]/],
  ['innerHTML / outerHTML assignment', /\.(inner|outer)HTML\s*\+?=/],
  ['insertAdjacentHTML', /\binsertAdjacentHTML\s*\(/],
  ['document.write', /\bdocument\.write(ln)?\s*\(/],
  ['srcdoc assignment', /\.srcdoc\s*=/],
  ['a javascript: URL', /['"`]javascript:/i],
];

/** Every .ts/.js/.mjs file under `dir`, skipping generated and vendored folders. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'generated') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|js|mjs)$/.test(entry)) out.push(path);
  }
  return out;
}

/** Lines of `text` that use something forbidden, without a reviewed exception beside them. */
function findings(text: string, where: string): string[] {
  const lines = text.split('\n');
  const found: string[] = [];
  lines.forEach((line, k) => {
    const code = line.replace(/\/\/.*$/, ''); // a comment may name what it avoids
    for (const [what, pattern] of FORBIDDEN) {
      if (!pattern.test(code)) continue;
      const reviewed = line.includes(MARKER) || (k > 0 && lines[k - 1].includes(MARKER));
      if (!reviewed) found.push(`${where}:${k + 1}: ${what}: ${line.trim().slice(0, 120)}`);
    }
  });
  return found;
}

describe('no string is compiled as code', () => {
  it('the scan finds what it looks for (a check of the check)', () => {
    const planted = [
      'const x = eval(text);', 'const f = new Function("a", "return a");', "const g = Function('return this');", "setTimeout('alert(1)', 10);",
      'el.innerHTML = name;', 'el.outerHTML += "<b>";', "el.insertAdjacentHTML('beforeend', s);", 'document.write(s);', "a.href = 'javascript:void 0';",
    ];
    for (const line of planted) assert.equal(findings(line, 'planted').length, 1, line);
    for (const line of ['// never eval(', 'isFunction(x)', 'retrieval(x)', 'el.textContent = s;', 'x.evaluate(y)', 'typeof Function']) assert.deepEqual(findings(line, 'clean'), [], line);
    assert.deepEqual(findings(`// ${MARKER} a reason\nel.innerHTML = '';`, 'reviewed'), []);
  });

  it('src/, webview/ and the build script use none of it (innerHTML, eval, Function, string timers, document.write)', () => {
    const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'webview')), join(ROOT, 'build.mjs')];
    assert.ok(files.length > 30, `${files.length} files scanned`);
    const found = files.flatMap((f) => findings(readFileSync(f, 'utf8'), relative(ROOT, f)));
    assert.deepEqual(found, []);
  });

  it('the built bundles (dist/*.js, dependencies included) compile no strings, but for one unreachable fallback', () => {
    const bundles = ['cli.js', 'extension.js', 'worker.js', 'webview.js'].map((f) => join(ROOT, 'dist', f));
    for (const b of bundles) assert.ok(existsSync(b), `${relative(ROOT, b)} is missing: run npm run build`);
    // @microsoft/fast-element (under @vscode/webview-ui-toolkit) finds the global object with
    // `new Function("return this")()` only when globalThis, global, self and window are all
    // undefined, which no webview is; and the page's CSP (no 'unsafe-eval') would refuse it.
    // (The development build, and the minified one of the package.)
    const KNOWN = /if\s*\(typeof globalThis\s*(?:!==\s*"undefined"|<"u")\)\s*\{?\s*return globalThis;[\s\S]{0,400}?try\s*\{\s*return new Function\("return this"\)\(\);?\s*\}\s*catch/;
    assert.match('if(typeof globalThis<"u")return globalThis;if(typeof global<"u")return global;if(typeof self<"u")return self;if(typeof window<"u")return window;try{return new Function("return this")()}catch{return{}}', KNOWN);
    const found: string[] = [];
    for (const b of bundles) {
      let text = readFileSync(b, 'utf8');
      if (b.endsWith('webview.js')) {
        const known = KNOWN.exec(text);
        assert.ok(known, "fast-element's guarded global lookup is where it was (if it moved, look again at what it does)");
        text = text.replace(known[0], '');
      }
      for (const [what, pattern] of [['eval(', /(^|[^\w$.])eval\s*\(/], ['new Function', /\bnew\s+Function\b/]] as const) {
        const m = pattern.exec(text);
        if (m) found.push(`${relative(ROOT, b)}: ${what} at ${m.index}: ${text.slice(Math.max(0, m.index - 80), m.index + 60).replace(/\s+/g, ' ')}`);
      }
    }
    assert.deepEqual(found, []);
  });
});

describe('the Inspect States page', () => {
  const page = { scriptUri: 'vscode-webview://abc/dist/webview.js', styleUri: 'vscode-webview://abc/dist/webview.css', cspSource: 'vscode-webview://abc', nonce: makeNonce() };

  it("CSP: default-src 'none', scripts only by nonce, no unsafe-inline or unsafe-eval, nothing remote", () => {
    const csp = contentSecurityPolicy(page);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), [`'nonce-${page.nonce}'`]);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval|strict-dynamic/);
    for (const [name, values] of directives) {
      for (const v of values) {
        const allowed = v === "'none'" || v === `'nonce-${page.nonce}'` || v === page.cspSource || (name === 'img-src' && v === 'data:') || (name === 'worker-src' && v === 'blob:');
        assert.ok(allowed, `${name} allows ${v}`);
      }
    }
    assert.ok(!directives.has('connect-src') && !directives.has('frame-src'), 'no fetches or frames beyond default-src');
    // The one worker: the GPU's, made from the host's script as a blob: (a webview cannot load one from its files).
    assert.deepEqual(directives.get('worker-src'), ['blob:']);
  });

  it('the page: the CSP in a meta tag, one script, with the nonce, from the extension; no inline code', () => {
    const html = panelHtml(page);
    assert.match(html, new RegExp(`<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(page).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}">`));
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0][1], new RegExp(`nonce="${page.nonce}"`));
    assert.match(scripts[0][1], /src="vscode-webview:\/\/abc\/dist\/webview\.js"/);
    assert.equal(scripts[0][2].trim(), '', 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing remote');
  });

  it('nonces are 128 random bits, fresh each time', () => {
    const nonces = new Set(Array.from({ length: 100 }, makeNonce));
    assert.equal(nonces.size, 100);
    for (const n of nonces) assert.match(n, /^[0-9a-f]{32}$/);
  });

  it('the panel loads only from dist/ and enables no command URIs', () => {
    const source = readFileSync(join(ROOT, 'src', 'extension', 'inspectPanel.ts'), 'utf8');
    assert.match(source, /localResourceRoots: \[dist\]/);
    assert.doesNotMatch(source, /enableCommandUris/);
  });
});

describe('the manifest and the package', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown> & { capabilities?: Record<string, unknown>; activationEvents?: string[] };

  it('declares its behaviour in untrusted and virtual workspaces, and does not activate on everything', () => {
    const untrusted = manifest.capabilities?.untrustedWorkspaces as { supported?: unknown } | undefined;
    assert.ok(untrusted && (untrusted.supported === true || untrusted.supported === false || untrusted.supported === 'limited'), 'capabilities.untrustedWorkspaces.supported');
    const virtual = manifest.capabilities?.virtualWorkspaces;
    assert.ok(virtual === true || virtual === false || (typeof virtual === 'object' && virtual !== null && 'supported' in virtual), 'capabilities.virtualWorkspaces');
    assert.ok(!(manifest.activationEvents ?? []).includes('*'), 'no "*" activation');
  });

  it('the package holds only the bundles, the media, the manifest, the README and the licence (vsce ls)', () => {
    const vsce = join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce');
    const r = spawnSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const files = r.stdout.trim().split('\n').map((f) => f.trim().replace(/\\/g, '/')).filter(Boolean);
    const allowed = (f: string): boolean => ['dist/extension.js', 'dist/worker.js', 'dist/gpu-worker.js', 'dist/units-worker.js', 'dist/bridge-worker.js', 'dist/pytorch/train.py', 'dist/webview.js', 'dist/webview.css', 'package.json', 'README.md', 'LICENSE'].includes(f) || f.startsWith('media/');
    assert.deepEqual(files.filter((f) => !allowed(f)), [], 'nothing else: no sources, maps, tests, keys or checkpoints');
    for (const f of ['dist/extension.js', 'dist/worker.js', 'dist/gpu-worker.js', 'dist/units-worker.js', 'dist/bridge-worker.js', 'dist/pytorch/train.py', 'dist/webview.js', 'dist/webview.css', 'package.json', 'README.md', 'LICENSE']) assert.ok(files.includes(f), `${f} is packaged`);
  });
});

describe('a checkpoint is data', () => {
  const text = 'the cat sat on the mat. '.repeat(20);
  const trainer = Trainer.create(text, 'cat.txt', { hidden_size: 3, num_layers: 1, embedding_size: null, bidirectional: false, mode: 'many_to_many' }, {
    tokens: 'word', max_vocab: 0, sequence_length: 4, batch_size: 2, steps: 1, optimizer: 'sgd', learning_rate: 0.1, schedule: 'constant', clip: null, init: 'pytorch', init_value: 0.1, seed: 3,
  });
  trainer.trainStep();
  const bytes = encodeCheckpoint(trainer.checkpoint());
  const g = globalThis as Record<string, unknown>;

  it('JavaScript in the metadata is kept as a string and never run', () => {
    const { header, data } = splitFile(bytes);
    const meta = header.__metadata__ as Record<string, string>;
    const code = '(() => { globalThis.lstmLensPwned = true; return require("node:child_process").execSync("touch pwned"); })()';
    meta.exploit = code;
    Object.defineProperty(meta, 'toString', { value: code, enumerable: true });
    Object.defineProperty(meta, '__proto__', { value: code, enumerable: true });
    const ckpt = decodeCheckpoint(assemble(toJson(header), data));
    assert.equal(ckpt.training.step, 1);
    assert.equal(g.lstmLensPwned, undefined);
    assert.equal(({} as Record<string, unknown>).toString, Object.prototype.toString);
    // In the config, the vocabulary and the training state, code is refused as a wrong type, not run.
    for (const key of ['config', 'vocab', 'training']) {
      const h = splitFile(bytes).header;
      (h.__metadata__ as Record<string, string>)[key] = code;
      assert.throws(() => decodeCheckpoint(assemble(toJson(h), data)), (e: unknown) => e instanceof InputError && /not valid JSON/.test(e.message));
    }
    assert.equal(g.lstmLensPwned, undefined);
    assert.ok(!existsSync(join(ROOT, 'pwned')));
  });

  it('a PyTorch pickle or zip (torch.save) is refused in one line, by the reader and by the command line', () => {
    const pickle = new Uint8Array([0x80, 0x02, 0x63, 0x6f, 0x73, 0x0a, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x0a, 0x28, 0x53, 0x27, 0x69, 0x64, 0x27, 0x0a, 0x74, 0x52, 0x2e]); // cos\nsystem\n(S'id'\ntR.
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Array(60).fill(0)]);
    for (const [name, file] of [['model.pt', pickle], ['model.pth', zip]] as const) {
      assert.throws(() => decodeCheckpoint(file), (e: unknown) => e instanceof InputError && /not a checkpoint/.test(e.message) && !/\n/.test(e.message));
      writeFileSync(join(scratch, name), file);
      const r = spawnSync(process.execPath, [CLI, 'generate', join(scratch, name), '--prime', 'the', '--length', '3'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^lstm-lens: .*not a checkpoint[^\n]*\n$/);
    }
  });

  it('the reader has no way to run code: no eval, Function, require or import of what it reads', () => {
    for (const file of ['src/engine/safetensors.ts', 'src/engine/checkpoint.ts', 'src/node/files.ts', 'src/node/writeFiles.ts', 'src/node/fileFacts.ts']) {
      const source = readFileSync(join(ROOT, file), 'utf8');
      assert.deepEqual(findings(source, file), []);
      assert.doesNotMatch(source, /\brequire\s*\(|\bimport\s*\(|JSON\.parse\([^)]*,/, `${file}: no dynamic require/import, no JSON reviver`);
    }
  });
});
