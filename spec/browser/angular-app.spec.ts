/**
 * The Angular example app (examples/angular) as a user runs it: its own dependencies installed
 * (`npm ci`), the SDK installed from the packed tarball, built with the Angular build tools
 * (`ng build`), served as static files, and opened in headless Chromium (Debian's `chromium`,
 * driven by playwright-core) against the real broker through the real grpcwebproxy. It asserts
 * what the page shows after publishing (values and offsets, in order), that closing the page
 * cancels the Subscribe on the server side, and takes the screenshot in docs/angular.md.
 *
 * Skips, saying why, only when no Chromium is installed; CI installs it (.ci/run).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { useGrpcWebProxy } from '../support/grpcweb-proxy.js';
import { buildAndPack } from '../support/pack.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const app = join(root, 'examples', 'angular');
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
);
/** Where the spec writes the page's screenshot (docs/images/angular-live-tail.png is a copy of one). */
export const SCREENSHOT = join(app, 'dist', 'live-tail.png');

if (CHROMIUM === undefined) {
  console.warn('spec/browser/angular-app.spec.ts skipped: no Chromium (set CHROMIUM_PATH, or `apt-get install chromium`; .ci/run does)');
}

const broker = useSingleNode();
const proxy = useGrpcWebProxy(() => broker.address);

/** Serves the built app (dist/browser) on a free loopback port; unknown paths get index.html. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.txt': 'text/plain' };
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) file = join(dir, 'index.html');
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server };
}

/** The Subscribe calls the proxy has ended with Canceled (its log line per cancelled call). */
function cancelledSubscribes(): number {
  return (readFileSync(proxy.logFile, 'utf8').match(/code Canceled.*grpc\.method=Subscribe/g) ?? []).length;
}

describe.skipIf(CHROMIUM === undefined)('examples/angular in headless Chromium, through grpcwebproxy', () => {
  let site: { url: string; server: Server } | undefined;
  let browser: Browser | undefined;
  let lift: LiftbridgeClient | undefined;

  beforeAll(async () => {
    const env = { ...process.env, NG_CLI_ANALYTICS: 'false', NO_COLOR: '1' };
    if (!existsSync(join(app, 'node_modules', '@angular', 'build'))) {
      await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: app, env, timeout: 300_000 });
    }
    mkdirSync(join(app, '.sdk'), { recursive: true });
    const { tarball } = await buildAndPack(join(app, '.sdk'));
    await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', tarball], { cwd: app, env, timeout: 300_000 });
    await run(process.execPath, [join(app, 'node_modules', '@angular', 'cli', 'bin', 'ng.js'), 'build'], { cwd: app, env, timeout: 300_000 });
    site = await serve(join(app, 'dist', 'browser'));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    lift = connect({ brokers: [broker.address] });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => site?.server.close(resolve) ?? resolve(undefined));
    await lift?.close();
  });

  /** Rows of the messages table, newest first, as [partition, offset, key, value]. */
  const rows = (page: Page): Promise<string[][]> =>
    page.$$eval('tr.message', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));

  it('shows published values with their offsets, in order; closing the page cancels the Subscribe on the server', async () => {
    const stream = uniqueName('ng-tail');
    await firstValueFrom(lift!.createStream({ name: stream, partitions: 2 }));
    // Two messages before the page opens: it reads from the earliest offset.
    await firstValueFrom(lift!.publish(stream, 'before-1', { partition: 0 }));
    await firstValueFrom(lift!.publish(stream, 'before-2', { partition: 1 }));

    const page = await browser!.newPage({ viewport: { width: 900, height: 640 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${site!.url}/?proxy=${encodeURIComponent(proxy.url)}&stream=${stream}`);
    await page.getByTestId('total').filter({ hasText: '2 received' }).waitFor();
    await page.getByTestId('status').filter({ hasText: 'connected' }).waitFor();
    // The partitions table comes from metadata$ (both partitions, with their leader).
    await page.locator('[data-testid=partitions] tbody tr').nth(1).waitFor();

    // Publish three values from the page's form (partition 0: no key, the default partitioning).
    for (const [i, value] of ['alpha', 'beta', 'gamma'].entries()) {
      await page.getByTestId('value').fill(value);
      await page.getByTestId('publish').click();
      await page
        .getByTestId('ack')
        .filter({ hasText: `${stream}/0@${i + 1}` })
        .waitFor();
    }
    // One more from Node: the page shows what anyone publishes.
    await firstValueFrom(lift!.publish(stream, 'from-node', { partition: 1 }));
    await page.getByTestId('total').filter({ hasText: '6 received' }).waitFor();

    const shown = await rows(page);
    const partition0 = shown.filter((r) => r[0] === '0').reverse();
    expect(partition0.map((r) => [r[1], r[3]])).toEqual([
      ['0', 'before-1'],
      ['1', 'alpha'],
      ['2', 'beta'],
      ['3', 'gamma'],
    ]);
    const partition1 = shown.filter((r) => r[0] === '1').reverse();
    expect(partition1.map((r) => [r[1], r[3]])).toEqual([
      ['0', 'before-2'],
      ['1', 'from-node'],
    ]);
    expect(await page.locator('[data-testid=partitions] tbody td:nth-child(3)').allTextContents()).toEqual(['3', '1']);
    expect(errors).toEqual([]);

    mkdirSync(join(app, 'dist'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

    // Closing the page aborts both partitions' fetches; the proxy cancels its calls to the broker.
    const before = cancelledSubscribes();
    await page.close();
    await expect.poll(cancelledSubscribes, { timeout: 20_000 }).toBeGreaterThanOrEqual(before + 2);
  }, 120_000);
});
