// Loading the committed PyTorch fixtures (made by test/pytorch/*.py).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIXTURES = join(__dirname, '..', 'fixtures');

export interface GradFixture {
  name: string;
  casePath: string;
  case: Record<string, unknown>;
  expected: Record<string, unknown>;
}

export function gradFixtures(): GradFixture[] {
  const dir = join(FIXTURES, 'grad');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.case.json'))
    .sort()
    .map((f) => {
      const name = f.replace(/\.case\.json$/, '');
      const casePath = join(dir, f);
      return {
        name,
        casePath,
        case: JSON.parse(readFileSync(casePath, 'utf8')),
        expected: JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8')),
      };
    });
}

export function trainingFixtures(): Array<{ name: string; data: Record<string, any> }> {
  const dir = join(FIXTURES, 'training');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ name: f.replace(/\.json$/, ''), data: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

/** Flattens nested arrays of numbers. */
export function flat(x: unknown): number[] {
  return Array.isArray(x) ? x.flatMap(flat) : [x as number];
}
