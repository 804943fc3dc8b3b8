/**
 * The tree passes Biome (biome.json: lint rules and the formatter), as `npm run lint` checks it.
 * Runs in the unit project so a violation is a failed test in CI's summary, listed in the message.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

it('Biome finds nothing to report in src, spec, scripts, bench, examples and tools (npm run lint)', () => {
  const biome = join(root, 'node_modules', '.bin', 'biome');
  expect(existsSync(biome), 'node_modules/.bin/biome is missing: run npm ci').toBe(true);
  const run = spawnSync(biome, ['check', '--colors=off', '--max-diagnostics=50'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  const report = `${run.stdout}\n${run.stderr}`.trim();
  expect(run.error).toBeUndefined();
  expect(run.status, `biome check failed (npm run lint:fix applies the safe fixes):\n${report}`).toBe(0);
}, 120_000);
