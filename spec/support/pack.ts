/**
 * Builds the package (scripts/build.mjs) and packs it (`npm pack`), the way a user gets it, for
 * the specs that install it (spec/package, spec/browser/angular-app.spec.ts). Specs in other
 * processes may build at the same time and the build starts by deleting dist/, so build + pack
 * run under a lock directory (mkdir is atomic); a lock older than 5 minutes is stale.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const lockDir = join(root, '.test-data', 'pack.lock');

async function locked<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, '.test-data'), { recursive: true });
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 300_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() - started > 600_000) throw new Error(`${lockDir}: held for over 10 minutes`);
      // Another process holds it: nothing to await across processes, so look again shortly.
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/** Builds dist/ and packs it into `destination`; returns the tarball's path and its files. */
export function buildAndPack(destination: string): Promise<{ readonly tarball: string; readonly files: readonly string[] }> {
  return locked(async () => {
    await run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root });
    // The build ran just above; --ignore-scripts keeps prepack from building a second time.
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], { cwd: root });
    const info = (JSON.parse(stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    return { tarball: join(destination, info.filename), files: info.files.map((f) => f.path).sort() };
  });
}
