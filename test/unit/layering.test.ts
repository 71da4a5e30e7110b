// The import graph of src/ and webview/: every arrow points down, and no file reaches itself back.
// Layers, bottom to top: the engine (src/engine, with its WebGL2 backend src/engine/webgl) and the
// protocols (src/protocol, which may use the engine's types); the run layer (src/run); the Node
// support (src/node); the runtimes (src/cli, src/worker, src/gpuWorker), which do not import each
// other; the faces (src/extension, webview). Read with a regex over import and export-from lines
// (type-only imports count: a type is a dependency of the reader), relative paths resolved.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(__dirname, '..', '..');

/** Each folder's layer; a file may import its own folder, or a folder of a lower layer. */
const LAYERS: Array<[folder: string, layer: number]> = [
  ['src/engine', 0],
  ['src/protocol', 1],
  ['src/run', 2],
  ['src/node', 3],
  ['src/cli', 4],
  ['src/worker', 4],
  ['src/gpuWorker', 4],
  ['src/extension', 5],
  ['webview', 5],
];

/** The folder (of LAYERS) a file belongs to, or null. The engine's webgl/ is part of the engine. */
export function folderOf(file: string): string | null {
  const f = LAYERS.find(([folder]) => file === folder || file.startsWith(`${folder}/`));
  return f ? f[0] : null;
}

/** Module specifiers of every import, export-from, side-effect import and import() in a source. */
export function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found: string[] = [];
  const patterns = [
    /(?:^|[\n;])\s*(?:import|export)\s[^;'"]*?\sfrom\s*['"]([^'"]+)['"]/g, // import x from '…', import {\n a \n} from '…', export * from '…'
    /(?:^|[\n;])\s*import\s*['"]([^'"]+)['"]/g, // import '…'
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // import('…')
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) found.push(m[1]);
  return found;
}

/** A relative specifier from `file` (repository-relative, with /) as a repository-relative .ts path. */
function resolveImport(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null; // a package or node: built-in: outside the layers
  const base = relative(ROOT, resolve(ROOT, dirname(file), spec)).split('\\').join('/');
  for (const candidate of [`${base}.ts`, `${base}/index.ts`, base]) if (existsSync(join(ROOT, candidate)) && statSync(join(ROOT, candidate)).isFile()) return candidate;
  return `${base}.ts`; // a file the build writes (src/engine/wasm/generated/): its folder still says its layer
}

function sourcesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...sourcesUnder(path));
    else if (/\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The graph: each file and the files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...sourcesUnder('src'), ...sourcesUnder('webview')]) {
    const targets = specifiers(readFileSync(join(ROOT, file), 'utf8'))
      .map((s) => resolveImport(file, s))
      .filter((t): t is string => t !== null);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every import that points up, sideways between two runtimes, or out of the layers. */
export function upwardImports(graph: Map<string, string[]>): string[] {
  const layer = new Map(LAYERS);
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (from === null || to === null) wrong.push(`${file} → ${target} (outside the layers)`);
      else if (from !== to && (layer.get(to) as number) >= (layer.get(from) as number)) wrong.push(`${file} → ${target} (${from} may not import ${to})`);
    }
  }
  return wrong;
}

/** The cycles among files: strongly connected components (Tarjan) of more than one file, or a file importing itself. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, indexOf.get(w) as number));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

describe('the import graph', () => {
  const graph = importGraph();

  it('reads every file of the layers, and the imports between them', () => {
    assert.ok(graph.size > 100, `${graph.size} files`);
    for (const folder of ['src/engine/webgl', 'src/run', 'src/gpuWorker', 'src/worker', 'webview']) {
      assert.ok([...graph.keys()].some((f) => f.startsWith(`${folder}/`)), `${folder} has sources`);
    }
    // Known arrows, read as they are written (one of them spans lines, one is type-only).
    assert.ok(graph.get('src/worker/worker.ts')?.includes('src/run/jobShell.ts'));
    assert.ok(graph.get('src/gpuWorker/runner.ts')?.includes('src/engine/webgl/webgl.ts'));
    assert.ok(graph.get('webview/gpu/relay.ts')?.includes('src/gpuWorker/runner.ts'));
  });

  it('points down only (engine and protocol; run; node; cli, worker, gpuWorker; extension and webview)', () => {
    assert.deepEqual(upwardImports(graph), []);
  });

  it('has no cycle among files', () => {
    assert.deepEqual(cycles(graph), []);
  });

  it('the checks themselves fail on an upward import, a runtime importing another, and a cycle', () => {
    const bad = new Map<string, string[]>([
      ['src/engine/model.ts', ['src/run/trainingLoop.ts']],
      ['src/run/trainingLoop.ts', ['src/engine/model.ts']],
      ['src/protocol/worker.ts', ['src/engine/config.ts']],
      ['src/cli/train.ts', ['src/worker/worker.ts']],
      ['src/engine/webgl/webgl.ts', ['src/engine/backend.ts', 'src/gpuWorker/runner.ts']],
      ['src/engine/config.ts', ['src/engine/config.ts']],
    ]);
    assert.deepEqual(upwardImports(bad), [
      'src/engine/model.ts → src/run/trainingLoop.ts (src/engine may not import src/run)',
      'src/cli/train.ts → src/worker/worker.ts (src/cli may not import src/worker)',
      'src/engine/webgl/webgl.ts → src/gpuWorker/runner.ts (src/engine may not import src/gpuWorker)',
    ]);
    assert.deepEqual(cycles(bad), [['src/engine/model.ts', 'src/run/trainingLoop.ts'], ['src/engine/config.ts']]);
  });

  it('reads multi-line, type-only, export-from, side-effect and dynamic imports, and not commented ones', () => {
    const source = [
      "import type { A } from './a';",
      'import {',
      '  B,',
      '  C,',
      "} from '../b';",
      "export * from './c';",
      "export { D } from './d';",
      "import './e';",
      "const f = await import('./f');",
      "// import { G } from './g';",
      "/* import { H } from './h'; */",
      "import { readFileSync } from 'node:fs';",
    ].join('\n');
    assert.deepEqual(specifiers(source).sort(), ['../b', './a', './c', './d', './e', './f', 'node:fs']);
  });
});
