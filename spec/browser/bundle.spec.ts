/**
 * The browser entry (src/browser, `rx-liftbridge/browser` and the `"browser"` condition of
 * `rx-liftbridge`) bundles for the browser platform with no Node built-in reachable.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../support/broker.js';

const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Bundles `entry` for the browser; returns the Node built-ins something tried to import, with the importer. */
async function nodeImports(entry: string): Promise<string[]> {
  const found: string[] = [];
  const detect: Plugin = {
    name: 'detect-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.path.startsWith('node:') || NODE_BUILTINS.has(args.path)) {
          found.push(`${args.path} (from ${args.importer.replace(`${PROJECT_ROOT}/`, '')})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
  await build({
    entryPoints: [join(PROJECT_ROOT, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    plugins: [detect],
  });
  return found;
}

describe('browser bundle', () => {
  it('src/browser/index.ts reaches no Node built-in', async () => {
    expect(await nodeImports('src/browser/index.ts')).toEqual([]);
  }, 60_000);

  it('the check fails for the Node entry (it reaches grpc-js and node: modules)', async () => {
    expect((await nodeImports('src/index.ts')).length).toBeGreaterThan(0);
  }, 60_000);

  it('package.json resolves rx-liftbridge to the browser build under the "browser" condition, first', () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { exports: Record<string, Record<string, unknown>> };
    const root = pkg.exports['.'] as Record<string, unknown>;
    expect(Object.keys(root)[0]).toBe('browser');
    expect(root.browser).toEqual({ types: './dist/esm/browser/index.d.ts', default: './dist/esm/browser/index.js' });
    expect(pkg.exports['./browser']).toBeDefined();
  });
});
