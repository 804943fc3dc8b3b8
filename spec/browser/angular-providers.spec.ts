/**
 * rx-liftbridge/angular against the real @angular/core (21, the newest major that runs on Node
 * 20.19+), installed on demand into the git-ignored .angular-check/ (the root installs no Angular):
 * provideLiftbridge() in a real environment injector gives one client by token and by class, that
 * client reaches the real broker through the real grpcwebproxy, and destroying the injector closes it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { firstValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { useGrpcWebProxy } from '../support/grpcweb-proxy.js';
import type { LiftbridgeWebClient } from '../../src/browser/index.js';

const root = join(import.meta.dirname, '..', '..');
const dir = join(root, '.angular-check');
const broker = useSingleNode({ cursorsPartitions: 0 });
const proxy = useGrpcWebProxy(() => broker.address);

// biome-ignore lint/suspicious/noExplicitAny: both modules are loaded at run time from outside the type-checked tree
type Loaded = Record<string, any>;

/** Installs @angular/core 21 beside a bundle of src/angular (Angular and rxjs left external), and loads both. */
async function loadAngular(): Promise<{ ng: Loaded; sub: Loaded }> {
  if (!existsSync(join(dir, 'node_modules', '@angular', 'core'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '@angular/core@21', 'rxjs@7'], { cwd: dir, stdio: 'ignore', timeout: 120_000 });
  }
  const out = join(dir, 'angular-subpath.mjs');
  await build({
    entryPoints: [join(root, 'src', 'angular', 'index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: out,
    external: ['@angular/core', 'rxjs'],
    logLevel: 'silent',
  });
  const ng = await import(pathToFileURL(join(dir, 'node_modules', '@angular', 'core', 'fesm2022', 'core.mjs')).href);
  const sub = await import(pathToFileURL(out).href);
  return { ng, sub };
}

describe('rx-liftbridge/angular with the real @angular/core', () => {
  it('provides one client (token and class), reaching the broker through the proxy, closed with the injector', async () => {
    const { ng, sub } = await loadAngular();
    const parent = ng.createEnvironmentInjector([], ng.Injector.create({ providers: [] }));
    const injector = ng.createEnvironmentInjector([sub.provideLiftbridge({ url: proxy.url })], parent);
    const client: LiftbridgeWebClient = injector.get(sub.LIFTBRIDGE_CLIENT);
    expect(injector.get(sub.LiftbridgeWebClient)).toBe(client);
    const name = uniqueName('ng');
    await firstValueFrom(client.createStream({ name }));
    const meta = await firstValueFrom(client.metadata$);
    expect(meta.stream(name)).toBeDefined();
    const statuses = firstValueFrom(client.status$.pipe(toArray()));
    injector.destroy();
    expect((await statuses).at(-1)?.type).toBe('closed');
    parent.destroy();
  }, 180_000);

  it('bad options fail when the client is first injected, naming the field', async () => {
    const { ng, sub } = await loadAngular();
    const injector = ng.createEnvironmentInjector(
      [sub.provideLiftbridge({ url: 'localhost:8080' })],
      ng.createEnvironmentInjector([], ng.Injector.create({ providers: [] })),
    );
    expect(() => injector.get(sub.LIFTBRIDGE_CLIENT)).toThrow(/url/);
    injector.destroy();
  }, 180_000);
});
