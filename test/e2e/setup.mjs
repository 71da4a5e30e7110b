#!/usr/bin/env node
// Installs what the end-to-end tests need to run the packaged extension in a real VS Code:
// code-server (VS Code's own server and workbench) into .cache/e2e/code-server/, kept out of the
// project's dependencies so that contributors who never run e2e don't pay for it.
//
// Run by `npm run e2e:setup`, and by the e2e harness when code-server is not installed yet.
// It checks the machine's prerequisites first and, when one is missing, stops with one line naming
// the Debian packages to install. Nothing is downloaded outside the npm registry.
//
// Exit codes: 0 installed (or already there), 1 a prerequisite is missing, 2 the install failed.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.100.3';
// @vscode/ripgrep, a dependency of code-server's bundled VS Code, downloads ripgrep from GitHub in its
// postinstall unless it finds this file in its cache folder (os.tmpdir()/vscode-ripgrep-cache-VERSION).
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_TARBALL = 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const installDir = path.join(repoRoot, '.cache', 'e2e', 'code-server');
export const codeServerEntry = path.join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const markerFile = path.join(installDir, 'installed.json');
const logFile = path.join(repoRoot, '.cache', 'e2e', 'code-server-install.log');

function fail(code, line) {
  process.stderr.write(`e2e setup: ${line}\n`);
  process.exit(code);
}

function commandExists(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function debianPackageInstalled(name) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function pkgConfigHas(module) {
  return spawnSync('pkg-config', ['--exists', module], { stdio: 'ignore' }).status === 0;
}

/** Debian packages that are missing, in the order a person would install them. */
function missingPrerequisites() {
  const missing = [];
  if (!fs.existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!commandExists('rg')) missing.push('ripgrep');
  if (!commandExists('g++') || !commandExists('make')) missing.push('g++', 'make');
  if (!commandExists('python3')) missing.push('python3');
  const hasPkgConfig = commandExists('pkg-config');
  if (!hasPkgConfig) missing.push('pkg-config');
  // The -dev packages that code-server's native modules build against (kerberos, native-keymap, keytar...).
  const devPackages = [
    ['libkrb5-dev', 'krb5'],
    ['libx11-dev', 'x11'],
    ['libxkbfile-dev', 'xkbfile'],
    ['libsecret-1-dev', 'libsecret-1'],
  ];
  for (const [pkg, module] of devPackages) {
    const present = (hasPkgConfig && pkgConfigHas(module)) || debianPackageInstalled(pkg);
    if (!present) missing.push(pkg);
  }
  return missing;
}

function installedVersion() {
  try {
    const marker = JSON.parse(fs.readFileSync(markerFile, 'utf8'));
    if (marker.version !== CODE_SERVER_VERSION || !fs.existsSync(codeServerEntry)) return null;
    return marker.version;
  } catch {
    return null;
  }
}

/** True when code-server is installed at the pinned version (what the harness checks before it starts). */
export function isInstalled() {
  return installedVersion() === CODE_SERVER_VERSION;
}

function placeRipgrepCache() {
  const cacheDir = path.join(os.tmpdir(), `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const tarball = path.join(cacheDir, RIPGREP_TARBALL);
  if (fs.existsSync(tarball) && fs.statSync(tarball).size > 0) return;
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-rg-'));
  try {
    fs.copyFileSync(fs.realpathSync(rg), path.join(staging, 'rg'));
    fs.chmodSync(path.join(staging, 'rg'), 0o755);
    fs.mkdirSync(cacheDir, { recursive: true });
    const partial = `${tarball}.partial`;
    const r = spawnSync('tar', ['-C', staging, '-czf', partial, 'rg'], { encoding: 'utf8' });
    if (r.status !== 0) fail(2, `could not write the ripgrep cache tarball ${tarball}: ${r.stderr.trim()}`);
    fs.renameSync(partial, tarball);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function main() {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    fail(1, `missing prerequisites for the e2e tests; install them with: apt-get install -y ${missing.join(' ')}`);
  }
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor !== 20) {
    fail(1, `code-server ${CODE_SERVER_VERSION} installs only on Node.js 20 (its postinstall checks it); this is Node.js ${process.versions.node}`);
  }
  if (!fs.existsSync(path.join(repoRoot, 'node_modules', 'playwright-core', 'package.json'))) {
    fail(1, 'playwright-core is not installed; run: npm install');
  }

  if (isInstalled()) {
    console.log(`e2e setup: code-server ${CODE_SERVER_VERSION} already installed in ${path.relative(repoRoot, installDir)}`);
    return;
  }

  placeRipgrepCache();
  fs.rmSync(installDir, { recursive: true, force: true });
  fs.mkdirSync(installDir, { recursive: true });
  // A package.json of its own, so that npm never walks up to the project's and the install stays out of
  // the project's node_modules and lock file.
  fs.writeFileSync(
    path.join(installDir, 'package.json'),
    JSON.stringify({ name: 'lstm-lens-e2e-code-server', private: true, description: 'code-server for the e2e tests (generated by test/e2e/setup.mjs)' }, null, 2) + '\n',
  );

  console.log(`e2e setup: installing code-server ${CODE_SERVER_VERSION} into ${path.relative(repoRoot, installDir)} (about a minute; log: ${path.relative(repoRoot, logFile)})`);
  const started = Date.now();
  const log = fs.openSync(logFile, 'w');
  const r = spawnSync(
    'npm',
    ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`],
    {
      cwd: installDir,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        // As root, code-server's postinstall refuses to run without it.
        npm_config_unsafe_perm: 'true',
        // A nested `npx node-gyp` would otherwise stop to ask.
        npm_config_yes: 'true',
        // npm 11 skips dependencies' install scripts unless approved; code-server's postinstall runs nested
        // `npm install`s (lib/vscode, lib/vscode/extensions) whose native modules must build, in folders
        // whose package.json we don't control, so the approval has to come from the environment. This
        // only affects this pinned, isolated install.
        npm_config_dangerously_allow_all_scripts: 'true',
        npm_config_update_notifier: 'false',
      },
    },
  );
  fs.closeSync(log);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0 || !fs.existsSync(codeServerEntry)) {
    const tail = fs.readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-25).join('\n');
    process.stderr.write(`${tail}\n`);
    fail(2, `npm install of code-server@${CODE_SERVER_VERSION} failed after ${seconds} s (exit ${r.status ?? r.signal}); the full log is ${path.relative(repoRoot, logFile)}`);
  }

  // Proves that it starts (native modules load lazily, so this is only a first check).
  // --config: otherwise it writes a default config file into the user's ~/.config.
  const version = spawnSync(process.execPath, [codeServerEntry, '--version', '--config', path.join(installDir, 'config.yaml')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (version.status !== 0) {
    fail(2, `code-server was installed but \`code-server --version\` failed: ${(version.stderr || version.stdout).trim().split('\n').pop()}`);
  }
  const reported = version.stdout.trim().split('\n').filter((l) => !l.includes(' info ')).pop() ?? '';
  fs.writeFileSync(markerFile, JSON.stringify({ version: CODE_SERVER_VERSION, reports: reported }, null, 2) + '\n');
  console.log(`e2e setup: code-server ${CODE_SERVER_VERSION} installed in ${seconds} s (${reported})`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
