/**
 * The `rxlift` command line as users run it (issue 15): the real CLI process (src/cli bundled once
 * with esbuild, dependencies from node_modules) against one real Liftbridge node. Round trips,
 * every `--from` form, JSON output, exit codes, Ctrl-C on a follow, and one run under a
 * pseudo-terminal (`script`) that must draw a progress bar and clear it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAfterV1_9_0, uniqueName, useSingleNode } from '../support/broker.js';

const root = resolve(import.meta.dirname, '..', '..');
const outDir = join(root, '.scratch', `cli-spec-${process.pid}`);
const cli = join(outDir, 'rxlift.mjs');
const broker = useSingleNode();

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment without NO_COLOR/LIFTBRIDGE_BROKERS from the caller, so each test says what it means. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  delete e.NO_COLOR;
  delete e.LIFTBRIDGE_BROKERS;
  return { ...e, ...extra };
}

function rxlift(args: readonly string[], options: { input?: string; env?: Record<string, string>; brokers?: boolean } = {}): Promise<Run> {
  const full = options.brokers === false ? [...args] : ['--brokers', broker.address, ...args];
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [cli, ...full],
      { cwd: root, env: env(options.env), timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

async function ok(args: readonly string[], options: Parameters<typeof rxlift>[1] = {}): Promise<string> {
  const r = await rxlift(args, options);
  if (r.code !== 0) throw new Error(`rxlift ${args.join(' ')} exited ${String(r.code)}\n${r.stdout}\n${r.stderr}`);
  expect(r.stdout + r.stderr).not.toContain('\u001b['); // not a terminal: plain text
  return r.stdout;
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Resolves with the first stdout chunk matching `pattern`. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolveOut, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        child.stdout?.off('data', onData);
        resolveOut(seen);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before printing ${String(pattern)}; saw: ${seen}`)));
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code, stderr })));
}

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  const esbuild = join(root, 'node_modules', '.bin', 'esbuild');
  await new Promise<void>((done, fail) =>
    execFile(
      esbuild,
      ['src/cli/main.ts', '--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${cli}`, '--log-level=warning'],
      { cwd: root },
      (e) => (e === null ? done() : fail(e)),
    ),
  );
}, 60_000);

afterAll(() => {
  if (existsSync(outDir)) rmSync(outDir, { recursive: true, force: true });
});

describe('rxlift', () => {
  it('creates, lists and describes a stream (text and JSON)', async () => {
    const stream = uniqueName('cli');
    expect(await ok(['streams', 'create', stream, '--partitions', '3', '--subject', `sub.${stream}`, '--retention-max-messages', '1000'])).toBe(
      `created stream ${stream}\n`,
    );
    const list = JSON.parse(await ok(['--json', 'streams', 'list'])) as { name: string; subject: string; partitions: number }[];
    expect(list.find((s) => s.name === stream)).toMatchObject({ subject: `sub.${stream}`, partitions: 3 });
    await ok(['publish', stream, 'a', 'b', '--partition', '2']);
    const described = JSON.parse(await ok(['--json', 'streams', 'describe', stream])) as {
      partitions: { partition: number; newestOffset: string; highWatermark: string; isr: string[]; leader: string }[];
    };
    expect(described.partitions.map((p) => [p.partition, p.newestOffset, p.highWatermark])).toEqual([
      [0, '-1', '-1'],
      [1, '-1', '-1'],
      [2, '1', '1'],
    ]);
    expect(described.partitions[2]?.isr).toEqual([described.partitions[2]?.leader]);
    const text = await ok(['streams', 'describe', stream]);
    expect(text).toMatch(/^PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+NEWEST\s+HW\s+FLAGS$/m);
    await ok(['streams', 'readonly', stream, '-p', '2']);
    const ro = await rxlift(['publish', stream, 'c', '--partition', '2']);
    expect(ro.code).toBe(1);
    expect(ro.stderr).toMatch(/^rxlift: READONLY_PARTITION: /m);
    expect(ro.stderr).not.toMatch(/\n\s+at /); // one line, no stack
    await ok(['streams', 'delete', stream]);
    const gone = await rxlift(['streams', 'describe', stream]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^rxlift: NO_SUCH_STREAM: /m);
  });

  it('publishes from arguments, stdin and JSON lines and reads the same bytes back, binary too', async () => {
    const stream = uniqueName('cli');
    await ok(['streams', 'create', stream, '-p', '2']);
    const pub = await ok(['publish', stream, 'hello', 'world', '--key', 'k1', '--header', 'h=v', '--partition', '0']);
    expect(pub).toMatch(/^published 2 messages \(.+\) to .+: .+ msg\/s, p50 [\d.]+ms, p99 [\d.]+ms\n$/);
    await ok(['publish', stream, '--partition', '1'], { input: 'line one\nline two\n' });
    await ok(['publish', stream, '--lines', 'json', '--partition', '1'], { input: '{"key":"j","value":{"n":1},"headers":{"a":"b"}}\n' });
    await ok(['publish', stream, '--encoding', 'hex', '--partition', '1', '00ff80fe0a0d']);
    const out = jsonLines(await ok(['tail', stream, '--format', 'json']));
    const byPartition = (p: number) => out.filter((m) => m.partition === p);
    expect(byPartition(0).map((m) => [m.offset, m.key, m.value, (m.headers as Record<string, string>).h])).toEqual([
      ['0', 'k1', 'hello', 'v'],
      ['1', 'k1', 'world', 'v'],
    ]);
    expect(byPartition(1).map((m) => m.valueHex)).toEqual([
      Buffer.from('line one').toString('hex'),
      Buffer.from('line two').toString('hex'),
      Buffer.from('{"n":1}').toString('hex'),
      '00ff80fe0a0d',
    ]);
    expect(byPartition(1)[2]).toMatchObject({ key: 'j', headers: expect.objectContaining({ a: 'b' }) });
    const hex = await ok(['tail', stream, '-p', '1', '--from', 'offset:3', '--format', 'hex']);
    expect(hex).toMatch(/^p1@3 .*00ff80fe0a0d\n$/);
    const raw = await rxlift(['tail', stream, '-p', '0', '--to', 'offset:0', '--format', 'raw']);
    expect(raw.stdout).toBe('hello\n'); // the value bytes only
    expect(raw.stderr).toMatch(/^1 messages from .* \(p0: 1\)$/m);
  });

  it('reads from every --from form and stops at --to', async () => {
    const stream = uniqueName('cli');
    await ok(['streams', 'create', stream]);
    await ok(['publish', stream, 'm0', 'm1', 'm2']);
    const middle = new Date();
    // Timestamps are the broker's: wait until it has stamped a message after `middle`.
    await ok(['publish', stream, 'm3', 'm4']);
    const values = async (...args: string[]): Promise<string[]> =>
      jsonLines(await ok(['tail', stream, '--format', 'json', ...args])).map((m) => String(m.value));
    expect(await values('--from', 'earliest')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(await values()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(await values('--from', 'latest')).toEqual(['m4']);
    expect(await values('--from', 'offset:2', '--to', 'offset:3')).toEqual(['m2', 'm3']);
    expect(await values('--from', 'ago:1h')).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const sinceMiddle = await values('--from', `time:${middle.toISOString()}`);
    expect(sinceMiddle.slice(-2)).toEqual(['m3', 'm4']);
    expect(['m0', 'm1', 'm2', 'm3', 'm4'].slice(-sinceMiddle.length)).toEqual(sinceMiddle);
    // v1.x servers ignore the reverse flag (src/subscribe/types.ts); Liftbridge main reads backwards.
    if (isAfterV1_9_0()) expect(await values('--reverse')).toEqual(['m4', 'm3', 'm2', 'm1', 'm0']);
    await ok(['cursors', 'set', stream, 'reader', '1', '-p', '0']);
    expect(JSON.parse(await ok(['--json', 'cursors', 'get', stream, 'reader']))).toEqual({
      stream,
      cursorId: 'reader',
      positions: [{ partition: 0, offset: '1' }],
    });
    expect(await values('--from', 'cursor:reader')).toEqual(['m2', 'm3', 'm4']);

    // --from new waits for messages published after it subscribed: publish until it prints one.
    const child = spawn(process.execPath, [cli, '--brokers', broker.address, 'tail', stream, '--from', 'new', '--count', '1', '--format', 'json'], {
      cwd: root,
      env: env(),
    });
    const exited = exitOf(child);
    const printed = waitForOutput(child, /\n/);
    let n = 0;
    let stop = false;
    const publisher = (async () => {
      while (!stop) await ok(['publish', stream, `new-${n++}`]);
    })();
    const line = await printed;
    stop = true;
    await publisher;
    expect(String(jsonLines(line)[0]?.value)).toMatch(/^new-\d+$/);
    expect((await exited).code).toBe(0);
  });

  it('reads nothing, and succeeds, from an offset beyond the newest of a partition', async () => {
    const stream = uniqueName('cli');
    await ok(['streams', 'create', stream, '-p', '2']);
    await ok(['publish', stream, 'a', 'b', 'c', '--partition', '0']);
    await ok(['publish', stream, 'z', '--partition', '1']);
    const r = await rxlift(['tail', stream, '--from', 'offset:1', '--format', 'json']);
    expect(r.stderr).toMatch(/^2 messages from .* \(p0: 2\)$/m);
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).map((m) => m.value)).toEqual(['b', 'c']);
  });

  it('ends a --follow on Ctrl-C with exit 0 and a summary', async () => {
    const stream = uniqueName('cli');
    await ok(['streams', 'create', stream]);
    await ok(['publish', stream, 'x', 'y']);
    const child = spawn(process.execPath, [cli, '--brokers', broker.address, 'tail', stream, '--follow'], { cwd: root, env: env() });
    const exited = exitOf(child);
    await waitForOutput(child, /p0@1 .*y\n/);
    child.kill('SIGINT');
    const { code, stderr } = await exited;
    // It exits by itself: nothing (call, channel, timer) kept the event loop alive.
    expect(code).toBe(0);
    expect(stderr).toMatch(/^interrupted: 2 messages from .* \(p0: 2\)$/m);
  });

  it('fails with exit 2 on bad arguments and exit 1 naming the brokers it tried', async () => {
    const bad = await rxlift(['tail', 'x', '--from', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("argument 'yesterday' is invalid");
    expect((await rxlift(['publish'])).code).toBe(2);
    expect((await rxlift(['nope'])).code).toBe(2);
    expect((await rxlift(['tail', 'x', '--follow', '--to', 'latest'])).code).toBe(2);
    const help = await rxlift(['tail', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--from <position>\s+earliest \| latest \| new \| offset:N \| time:<ISO> \|\s+ago:<duration> \| cursor:<id>/);
    const down = await rxlift(['--timeout', '2s', 'streams', 'list'], { brokers: false, env: { LIFTBRIDGE_BROKERS: '127.0.0.1:1,127.0.0.1:2' } });
    expect(down.code).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/^rxlift: CONNECTION: .*\(tried 127\.0\.0\.1:1, 127\.0\.0\.1:2\)$/m);
  });

  it('bench publish and subscribe print a table (and JSON with --json)', async () => {
    const stream = uniqueName('cli');
    await ok(['streams', 'create', stream, '-p', '2']);
    const pub = JSON.parse(await ok(['--json', 'bench', 'publish', stream, '--count', '500', '--size', '64'])) as Record<string, number>;
    expect(pub).toMatchObject({ messages: 500, bytes: 500 * 64 });
    expect(pub.msgPerSec).toBeGreaterThan(0);
    expect(pub.p99Ms).toBeGreaterThanOrEqual(pub.p50Ms ?? 0);
    const sub = await ok(['bench', 'subscribe', stream]);
    expect(sub).toMatch(/^TEST\s+MESSAGES\s+SECONDS\s+MSG\/S\s+MB\/S\s+P50\s+P99\nsubscribe earliest\.\.latest\s+500\s/);
  });

  it.runIf(existsSync('/usr/bin/script'))('draws a progress bar on a terminal and clears it before the final line', async () => {
    const stream = uniqueName('cli');
    await ok(['streams', 'create', stream]);
    const file = join(outDir, 'values.txt');
    writeFileSync(file, `${Array.from({ length: 3000 }, (_, i) => `value-${i}`).join('\n')}\n`);
    const command = [process.execPath, cli, '--brokers', broker.address, 'publish', stream, '--file', file, '--in-flight', '64'].map((a) => `'${a}'`).join(' ');
    const r = await new Promise<Run>((done) =>
      execFile(
        'script',
        ['-qfec', command, '/dev/null'],
        { cwd: root, env: env({ TERM: 'xterm', COLUMNS: '100' }), timeout: 90_000 },
        (error, stdout, stderr) =>
          done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout: String(stdout), stderr: String(stderr) }),
      ),
    );
    expect(r.code).toBe(0);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what this checks
    expect(r.stdout).toMatch(/\r\u001b\[2K\[#*\.*\]\s+\d+%\s+\S+ msgs\s+\S+ msg\/s\s+ETA /); // a bar was drawn
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences are what this checks
    const clearedThenFinal = /\r\u001b\[2K\r?\n?published 3000 messages/.exec(r.stdout.replace(/\r\u001b\[2K\[[^\r]*/g, ''));
    expect(clearedThenFinal).not.toBeNull(); // ...and erased before the final line
    // NO_COLOR turns it off even on a terminal.
    const plain = await new Promise<string>((done) =>
      execFile('script', ['-qfec', command, '/dev/null'], { cwd: root, env: env({ TERM: 'xterm', NO_COLOR: '1' }), timeout: 90_000 }, (_e, stdout) =>
        done(String(stdout)),
      ),
    );
    expect(plain).not.toContain('\u001b[');
    expect(plain).toMatch(/published 3000 messages/);
  });
});
