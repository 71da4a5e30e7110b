// The version `lstm-lens --version` prints: package.json's, read from the package the command runs
// from (dist/cli.js and src/cli/main.ts both sit two folders or fewer below it).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The version of the lstm-lens package this file belongs to, or null when its package.json is not found. */
export function packageVersion(from: string = __dirname): string | null {
  let dir = from;
  for (let k = 0; k < 4; k++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'lstm-lens' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      /* not here: one folder up */
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}
