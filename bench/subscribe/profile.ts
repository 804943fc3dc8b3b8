/**
 * Where the client's CPU goes in a catch-up read.
 *
 *   node --import tsx bench/subscribe/profile.ts                 # broker + backlog + profiled read + report
 *   node --import tsx bench/subscribe/profile.ts some.cpuprofile # report on an existing profile
 *
 * The first form starts a single node, loads BENCH_MESSAGES (1,000,000) x BENCH_SIZE (256) B
 * into a stream of PROFILE_PARTITIONS (1) partitions, reads it once unprofiled (warm page
 * cache) and once with `node --cpu-prof` (catch-up-child.ts run through tsx so that frames
 * keep their source files), and prints: CPU by layer (self time), the top functions by self
 * time, and the inclusive time of the hot path's landmarks, each also in µs per message.
 * The profile is kept in .bench-bin/profiles/ (git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { uniqueName } from '../../spec/support/broker.js';
import { BIN_DIR, ROOT, buildGoTool, envInt, loadBacklog, pinned, pinning, startPinnedBroker } from './common.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The layer a frame belongs to. */
function layer(f: CallFrame): string {
  const u = f.url;
  if (u === '') {
    if (f.functionName === '(garbage collector)') return 'V8 garbage collector';
    if (f.functionName === '(idle)') return '(idle)';
    if (f.functionName === '(program)') return 'V8/native, unattributed ((program))';
    return `native builtin (${f.functionName === '' ? 'anonymous' : f.functionName})`;
  }
  if (u.includes('@grpc/grpc-js')) return 'grpc-js';
  if (u.includes('@bufbuild/protobuf')) return '@bufbuild/protobuf wire reader (used by ts-proto)';
  if (u.includes('src/generated/')) return 'ts-proto generated decode (api.ts)';
  if (u.includes('/rxjs/')) return 'rxjs';
  if (u.includes('/src/subscribe/')) return 'SDK src/subscribe (bridge, Message)';
  if (u.includes('/src/')) return 'SDK src (other)';
  if (u.includes('/bench/')) return 'benchmark (counting, checks)';
  if (u.startsWith('node:internal/http2') || u.includes('internal/http2')) return 'node http2 (JS side)';
  if (u.includes('internal/streams')) return 'node streams (Readable/Writable)';
  if (u.includes('internal/process/task_queues') || u.includes('internal/timers')) return 'node tick queue / timers';
  if (u.includes('events')) return 'node events (EventEmitter)';
  if (u.includes('buffer')) return 'node buffer';
  if (u.startsWith('node:') || u.startsWith('internal')) return `node other (${u.replace(/^node:/, '')})`;
  if (u.includes('node_modules')) return `other package (${u.split('node_modules/').pop()?.split('/')[0] ?? u})`;
  return `other (${u})`;
}

/** Module loading before the read (tsx, ESM/CJS loaders): excluded from the per-message figures. */
function isStartup(f: CallFrame): boolean {
  return /internal\/modules\/|\/tsx\/|cjs-module-lexer|internal\/bootstrap/.test(f.url);
}

/** Who a sample's time belongs to: the nearest frame (from the leaf up) owned by a library or our code. */
function owner(f: CallFrame): string | undefined {
  const u = f.url;
  if (u.includes('@grpc/grpc-js')) return 'grpc-js (framing copy, async filter, nextTick, call layers, Readable)';
  if (u.includes('@bufbuild/protobuf') || u.includes('src/generated/')) return 'ts-proto Message.decode (+ @bufbuild/protobuf reader, Buffer views, utf8)';
  if (u.includes('/rxjs/')) return 'rxjs';
  if (u.includes('/src/') && !u.includes('node_modules')) return 'SDK (partition bridge, ReceivedMessage)';
  if (u.includes('fast-message-decoder')) return 'prototype decoder (bench/subscribe/prototype)';
  if (u.includes('raw-http2-subscribe')) return 'prototype HTTP/2 framing (bench/subscribe/prototype)';
  if (u.includes('/bench/')) return 'benchmark subscriber (counting, checks)';
  return undefined;
}

function shortUrl(u: string): string {
  return u
    .replace(/^file:\/\//, '')
    .replace(`${ROOT}/`, '')
    .replace(/^node_modules\//, '');
}

/** Landmarks of the hot path whose inclusive time we report (function name, url fragment). */
const LANDMARKS: [string, string, string][] = [
  ['http2 session/socket read -> stream data (all of grpc-js receive work below it)', 'onStreamRead', ''],
  ['grpc-js StreamDecoder.write (frame split + Buffer.concat copy)', 'write', 'stream-decoder'],
  ['ts-proto Message.decode (deserialize)', 'decode', 'src/generated/'],
  ['grpc-js compression filter receiveMessage (async: a Promise + microtask per message)', 'receiveMessage', 'compression-filter'],
  ['everything run from process.nextTick (grpc-js defers each message to a tick)', 'processTicksAndRejections', 'task_queues'],
  ['SDK partition bridge data handler (inclusive: ReceivedMessage, Rx delivery, subscriber)', '', 'partition-stream.ts'],
  ['rxjs (inclusive)', '', '/rxjs/'],
];

export function report(file: string, messages: number): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n] as const));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  let total = 0;
  let idle = 0;
  const startupSample = (leafId: number): boolean => {
    let id: number | undefined = leafId;
    while (id !== undefined) {
      if (isStartup(byId.get(id)!.callFrame)) return true;
      id = parent.get(id);
    }
    return false;
  };
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    const dt = p.timeDeltas[i] ?? 0;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    if (startupSample(id)) continue;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  // Startup (module loading) and attribution by owner.
  let startup = 0;
  const owners = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    let id: number | undefined = p.samples[i]!;
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === '(idle)') continue;
    let who: string | undefined;
    let boot = false;
    while (id !== undefined) {
      const f = byId.get(id)!.callFrame;
      if (isStartup(f)) boot = true;
      who ??= owner(f);
      id = parent.get(id);
    }
    if (boot) {
      startup += dt;
      continue;
    }
    if (who === undefined) {
      if (leaf.functionName === '(garbage collector)') who = 'V8 garbage collector';
      else if (leaf.functionName === '(program)') who = 'V8/native, unattributed ((program))';
      else who = 'node runtime: socket read, HTTP/2 (nghttp2) callbacks, tick/microtask queues';
    }
    owners.set(who, (owners.get(who) ?? 0) + dt);
  }
  total -= startup;
  const perMsg = (us: number): string => (us / messages).toFixed(3);
  const pct = (us: number): string => ((100 * us) / total).toFixed(1);
  const out: string[] = [];
  out.push(
    `Profile ${shortUrl(file)}: ${(total / 1e6).toFixed(2)} s on CPU for the read (module loading ${(startup / 1e6).toFixed(2)} s and idle ${(idle / 1e6).toFixed(2)} s excluded), ${messages} messages = ${perMsg(total)} µs/msg under the profiler`,
  );
  out.push('', '| owner (nearest library/SDK frame on the stack) | % of CPU | µs/msg (profiled) |', '|---|---:|---:|');
  for (const [o, us] of [...owners].sort((a, b) => b[1] - a[1])) out.push(`| ${o} | ${pct(us)} | ${perMsg(us)} |`);

  // Self time by layer.
  const layers = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const l = layer(byId.get(id)!.callFrame);
    layers.set(l, (layers.get(l) ?? 0) + us);
  }
  out.push('', '| layer of the leaf frame (self time) | % of CPU | µs/msg |', '|---|---:|---:|');
  for (const [l, us] of [...layers].sort((a, b) => b[1] - a[1])) if (us / total >= 0.005) out.push(`| ${l} | ${pct(us)} | ${perMsg(us)} |`);

  // Top functions by self time.
  const fns = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}${f.url === '' ? '' : `:${f.lineNumber + 1}`}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  out.push('', '| top functions (self time) | % | µs/msg |', '|---|---:|---:|');
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, 30)) out.push(`| \`${k}\` | ${pct(us)} | ${perMsg(us)} |`);

  // Inclusive time of landmarks: a sample counts once per landmark if any frame on its stack matches.
  const incl = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    let id: number | undefined = p.samples[i]!;
    if (startupSample(id)) continue;
    const hit = new Set<string>();
    while (id !== undefined) {
      const f = byId.get(id)!.callFrame;
      for (const [label, fn, url] of LANDMARKS) {
        if ((fn === '' || f.functionName === fn) && (url === '' || f.url.includes(url))) hit.add(label);
      }
      id = parent.get(id);
    }
    for (const h of hit) incl.set(h, (incl.get(h) ?? 0) + dt);
  }
  out.push('', '| landmark (inclusive time) | % | µs/msg |', '|---|---:|---:|');
  for (const [label] of LANDMARKS) {
    const us = incl.get(label) ?? 0;
    out.push(`| ${label} | ${pct(us)} | ${perMsg(us)} |`);
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (arg !== undefined) {
    console.log(report(arg, envInt('BENCH_MESSAGES', 1_000_000)));
    return;
  }
  const messages = envInt('BENCH_MESSAGES', 1_000_000);
  const partitions = envInt('PROFILE_PARTITIONS', 1);
  const pin = pinning();
  buildGoTool();
  const node = await startPinnedBroker(pin);
  let profile: string | undefined;
  try {
    const stream = uniqueName(`profile-p${partitions}`);
    await loadBacklog(pin, node.address, stream, partitions, messages, envInt('BENCH_SIZE', 256));
    const dir = join(BIN_DIR, 'profiles', `tmp-${Date.now()}`);
    mkdirSync(dir, { recursive: true });
    const child = join(ROOT, 'bench', 'subscribe', 'catch-up-child.ts');
    for (const flags of [[], ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100']]) {
      const [cmd, args] = pinned(pin, process.execPath, [...flags, '--import', 'tsx', child, node.address, stream, String(partitions), String(messages)]);
      const res = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`profiled read failed: ${res.stderr}`);
      console.log(res.stdout.trim());
    }
    const found = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (found === undefined) throw new Error(`no .cpuprofile in ${dir}`);
    profile = join(BIN_DIR, 'profiles', `catch-up-p${partitions}-${Date.now()}.cpuprofile`);
    renameSync(join(dir, found), profile);
    rmSync(dir, { recursive: true, force: true });
  } finally {
    await node.stop();
  }
  console.log(report(profile, messages));
}

if (process.argv[1]?.endsWith('profile.ts') === true) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
