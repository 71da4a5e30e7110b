// One build for every entry point. Each entry says where it runs; esbuild bundles it with its imports.
import * as esbuild from 'esbuild';

const production = process.argv.includes('--production');

/** @type {import('esbuild').BuildOptions[]} */
const entries = [
  {
    // The headless command line: Node, CommonJS, one file with a shebang.
    entryPoints: { cli: 'src/cli/main.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
  {
    // The extension host side: Node, CommonJS; `vscode` is provided by VS Code at run time.
    entryPoints: { extension: 'src/extension/extension.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    // The training and generation worker (worker_threads), started by the extension host.
    entryPoints: { worker: 'src/worker/worker.ts' },
    platform: 'node',
    format: 'cjs',
    target: 'node20',
  },
];

await Promise.all(
  entries.map((options) =>
    esbuild.build({
      bundle: true,
      outdir: 'dist',
      sourcemap: true,
      minify: production,
      logLevel: 'warning',
      ...options,
    }),
  ),
);
