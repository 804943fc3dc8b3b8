/**
 * Builds the small Go programs under tools/ (each its own module using go-liftbridge from the
 * Go module proxy) into .liftbridge/tools/, once per source change.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './broker.js';

/** Path of the built binary of tools/<name>, building it first if its sources changed. */
export function goTool(name: string): string {
  const dir = join(PROJECT_ROOT, 'tools', name);
  const outDir = join(PROJECT_ROOT, '.liftbridge', 'tools');
  const bin = join(outDir, name);
  const stamp = `${bin}.sha256`;
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    if (/\.(go|mod|sum)$/.test(f)) hash.update(f).update(readFileSync(join(dir, f)));
  }
  const digest = hash.digest('hex');
  if (existsSync(bin) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return bin;
  mkdirSync(outDir, { recursive: true });
  execFileSync('go', ['build', '-o', bin, '.'], {
    cwd: dir,
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 300_000,
  });
  writeFileSync(stamp, digest);
  return bin;
}
