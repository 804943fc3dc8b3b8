/**
 * What publishing costs the operating system and the wire, per message, ours beside go-liftbridge's:
 * system calls (`strace -c -f` on the publishing process) and HTTP/2 frames in each direction (a
 * frame-counting TCP proxy the broker advertises as its address, so every call goes through it).
 *
 *   node --import tsx bench/publish/wire-profile.ts            (needs strace: apt-get install strace)
 *
 * One single node (test harness); for each window in BENCH_WINDOWS ("1,1024") each client publishes
 * BENCH_COUNT (5,000 at window 1, else 50,000) x 256 B once under strace and once through the proxy
 * (strace slows a process down, so the two are separate runs). Counts are divided by the messages
 * the client sent (ours includes its warm-up). Not a speed benchmark: strace and the proxy change
 * the timing; the counts are what to read.
 *
 * Why this exists: at window 1 our main thread spends about 120 µs of CPU per message while its
 * JavaScript is about 20-25 µs, so the rest is Node, libuv and the kernel; and at window 1024 the
 * broker spends more CPU per message on our traffic than on Go's. This shows how the two clients
 * differ on the wire and in system calls (docs/performance.md).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { startSingleNode, uniqueName } from '../../spec/support/broker.js';
import { goTool } from '../../spec/support/go-tools.js';
import { envInt, envInts, prepareChild } from '../subscribe/common.js';
import { publishCommand } from './commands.js';

const WINDOWS = envInts('BENCH_WINDOWS', [1, 1024]);
const CLIENTS = ['rx-liftbridge', 'go-liftbridge'] as const;
const FRAME_TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

/** Frames seen in one direction: count per type, DATA payload bytes. */
interface Frames {
  readonly count: Map<string, number>;
  dataBytes: number;
}

/**
 * A TCP proxy to `target` that parses the HTTP/2 frames passing through (the client's 24-byte
 * preface skipped) and counts them per direction. `reset()` starts new counts.
 */
async function frameProxy(target: number): Promise<{ port: number; frames: { up: Frames; down: Frames }; reset(): void; close(): void }> {
  const fresh = (): Frames => ({ count: new Map(), dataBytes: 0 });
  const state = { up: fresh(), down: fresh() };
  const counter = (dir: 'up' | 'down') => {
    let pending: Buffer = Buffer.alloc(0);
    let preface = dir === 'up' ? 24 : 0;
    return (chunk: Buffer): void => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      if (preface > 0) {
        const n = Math.min(preface, pending.length);
        pending = pending.subarray(n);
        preface -= n;
      }
      const f = state[dir];
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = FRAME_TYPES[pending[3] as number] ?? `type ${pending[3]}`;
        f.count.set(type, (f.count.get(type) ?? 0) + 1);
        if (type === 'DATA') f.dataBytes += length;
        pending = pending.subarray(9 + length);
      }
    };
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const broker = net.connect(target, '127.0.0.1');
    for (const s of [client, broker]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    const up = counter('up');
    const down = counter('down');
    client.on('data', (d: Buffer) => {
      up(d);
      broker.write(d);
    });
    broker.on('data', (d: Buffer) => {
      down(d);
      client.write(d);
    });
    client.on('close', () => broker.destroy());
    broker.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    frames: state,
    reset: () => {
      state.up = fresh();
      state.down = fresh();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A free loopback port (for the broker, which must listen on one port and advertise another). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs a command to its end; its last stdout line (the client's JSON result). */
function run(cmd: string, args: readonly string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`${cmd} exited ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(last) as Record<string, unknown>);
    });
  });
}

async function main(): Promise<void> {
  if (spawnSync('strace', ['-V']).status !== 0) throw new Error('strace is not installed (apt-get install strace)');
  const brokerPort = await freePort();
  const proxy = await frameProxy(brokerPort);
  // The broker listens on its own port and advertises the proxy's, so clients reach it through the proxy.
  const node = await startSingleNode({
    logLevel: 'warn',
    activity: false,
    port: brokerPort,
    extraConfig: { listen: `127.0.0.1:${brokerPort}`, port: proxy.port },
  });
  const admin = connect({ brokers: [node.address] });
  const dir = mkdtempSync(join(tmpdir(), 'wire-profile-'));
  const unpinned = { enabled: false, brokerCpu: 0, clientCpu: 1 };
  try {
    const ours = prepareChild('publish-child', false, 'publish');
    const go = goTool('go-compare');
    for (const window of WINDOWS) {
      const count = envInt('BENCH_COUNT', window <= 1 ? 5_000 : 50_000);
      console.log(`\nwindow ${window}, ${count} x 256 B (per message sent; ours includes its warm-up)`);
      for (const client of CLIENTS) {
        const command = async (): Promise<[string, string[]]> => {
          const stream = uniqueName('wire');
          await firstValueFrom(admin.createStream({ name: stream }));
          return publishCommand(unpinned, client, ours, go, { brokers: `127.0.0.1:${proxy.port}`, stream, window, count, size: 256 });
        };
        // System calls of the whole process (all threads).
        const out = join(dir, `${client}-${window}.strace`);
        const [cmd, args] = await command();
        const traced = await run('strace', ['-f', '-c', '-o', out, cmd, ...args]);
        const sent = count + Number(traced.warmup ?? 0);
        const calls = readFileSync(out, 'utf8')
          .split('\n')
          .filter((l) => /^\s*[0-9.]+\s+[0-9.]+\s+\d+\s+\d+/.test(l))
          .map((l) => l.trim().split(/\s+/))
          .map((f) => ({ name: f.at(-1) as string, calls: Number(f[3]), errors: f.length === 6 ? Number(f[4]) : 0 }))
          .filter((c) => c.calls / sent >= 0.05)
          .map((c) => `${c.name} ${(c.calls / sent).toFixed(2)}${c.errors > 0 ? ` (${(c.errors / sent).toFixed(2)} failed)` : ''}`);
        console.log(`  ${client.padEnd(13)} syscalls/msg: ${calls.join(', ')}`);
        // HTTP/2 frames, in a run without strace.
        const [cmd2, args2] = await command();
        proxy.reset();
        const plain = await run(cmd2, args2);
        const sent2 = count + Number(plain.warmup ?? 0);
        for (const [dirName, f] of [
          ['client -> broker', proxy.frames.up],
          ['broker -> client', proxy.frames.down],
        ] as const) {
          const types = [...f.count].sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} ${(n / sent2).toFixed(n / sent2 < 0.1 ? 3 : 2)}`);
          console.log(`  ${''.padEnd(13)} ${dirName} frames/msg: ${types.join(', ')}; DATA bytes/msg ${(f.dataBytes / sent2).toFixed(0)}`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin.close();
    await node.stop();
    proxy.close();
  }
}

await main();
