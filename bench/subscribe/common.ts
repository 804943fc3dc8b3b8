/**
 * Shared pieces of the subscribe benchmarks: parameters from the environment, the Go tool
 * (built into the git-ignored .bench-bin/), a pinned single-node broker, child processes
 * that print one JSON line, statistics and machine notes.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, liftbridgeVersion, startCluster, startSingleNode, type SingleNode } from '../../spec/support/broker.js';

export const ROOT = PROJECT_ROOT;
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const BIN_DIR = join(ROOT, '.bench-bin');
export const GO_TOOL_DIR = join(ROOT, 'tools', 'go-bench-consumer');
export const GO_TOOL = join(BIN_DIR, 'go-bench-consumer');

/** An integer from the environment (underscores allowed: 1_000_000), else the default. */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw.replaceAll('_', ''));
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** A comma-separated list of integers from the environment. */
export function envInts(name: string, fallback: readonly number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...fallback];
  return raw.split(',').map((s) => {
    const v = Number(s.trim());
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected positive integers, got ${JSON.stringify(raw)}`);
    return v;
  });
}

/** CPU pinning: broker on one core, clients on another (when `taskset` exists and there are >= 2 cores). */
export interface Pinning {
  readonly enabled: boolean;
  readonly brokerCpu: number;
  readonly clientCpu: number;
}

export function pinning(): Pinning {
  const has = spawnSync('taskset', ['--version'], { encoding: 'utf8' }).status === 0;
  const enabled = has && cpus().length >= 2 && process.env.BENCH_PIN !== '0';
  return { enabled, brokerCpu: envInt('BENCH_BROKER_CPU', 0), clientCpu: envInt('BENCH_CLIENT_CPU', 1) };
}

/** `cmd args` wrapped in `taskset -c <clientCpu>` when pinning. */
export function pinned(pin: Pinning, cmd: string, args: readonly string[]): [string, string[]] {
  return pin.enabled ? ['taskset', ['-c', String(pin.clientCpu), cmd, ...args]] : [cmd, [...args]];
}

/** Builds tools/go-bench-consumer into .bench-bin/ (never committed). */
export function buildGoTool(): string {
  mkdirSync(BIN_DIR, { recursive: true });
  const res = spawnSync('go', ['build', '-o', GO_TOOL, '.'], {
    cwd: GO_TOOL_DIR,
    env: { ...process.env, GOFLAGS: '-mod=mod' },
    encoding: 'utf8',
  });
  if (res.status !== 0) throw new Error(`go build of ${GO_TOOL_DIR} failed:\n${res.stdout}${res.stderr}`);
  return GO_TOOL;
}

/** A single Liftbridge node (test harness), its whole process pinned to the broker core. */
export async function startPinnedBroker(pin: Pinning): Promise<SingleNode> {
  const node = await startSingleNode({ logLevel: 'warn', activity: false });
  if (pin.enabled) {
    // -a: every existing thread; threads created later inherit the mask.
    execFileSync('taskset', ['-a', '-p', '-c', String(pin.brokerCpu), String(node.pid)], { stdio: 'ignore' });
  }
  return node;
}

/**
 * A 3-node cluster (test harness) for benchmarks that take one broker: `address` is every node's
 * address, comma-separated (the children split it), `pid` the first node's, `stop()` stops them all.
 * Every node is pinned to the broker core.
 */
export async function startPinnedCluster(pin: Pinning): Promise<{ address: string; pid: number; stop(): Promise<void> }> {
  const cluster = await startCluster({ size: 3, logLevel: 'warn', activity: false });
  if (pin.enabled) {
    for (const n of cluster.nodes) execFileSync('taskset', ['-a', '-p', '-c', String(pin.brokerCpu), String(n.pid)], { stdio: 'ignore' });
  }
  return { address: cluster.addresses.join(','), pid: cluster.nodes[0]!.pid, stop: () => cluster.stop() };
}

/** Runs a command, returns the last JSON line of its stdout; rejects on a non-zero exit. */
export function runJson<T = Record<string, unknown>>(cmd: string, args: readonly string[], env: Record<string, string> = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      let parsed: T | undefined;
      try {
        parsed = line === undefined ? undefined : (JSON.parse(line) as T);
      } catch {
        parsed = undefined;
      }
      if (code !== 0 || parsed === undefined) {
        reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-4000)}`));
        return;
      }
      resolve(parsed);
    });
  });
}

/** Creates `stream` with `partitions` and publishes `messages` values of `size` bytes through the Go loader. */
export async function loadBacklog(
  pin: Pinning,
  address: string,
  stream: string,
  partitions: number,
  messages: number,
  size: number,
): Promise<Record<string, unknown>> {
  const [cmd, args] = pinned(pin, GO_TOOL, [
    'load',
    '-brokers',
    address,
    '-stream',
    stream,
    '-partitions',
    String(partitions),
    '-count',
    String(messages),
    '-size',
    String(size),
    '-window',
    String(envInt('BENCH_LOAD_WINDOW', 1024)),
  ]);
  return runJson(cmd, args);
}

/** How many of `messages` round-robin messages partition `p` of `partitions` holds. */
export function perPartition(messages: number, partitions: number, p: number): number {
  return Math.floor(messages / partitions) + (p < messages % partitions ? 1 : 0);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * `a`'s value over `b`'s in every round both ran (a ratio inside one round is what survives a shared,
 * noisy machine; the median of these is what the tables report).
 */
export function perRoundRatios<R extends { readonly round: number }>(a: readonly R[], b: readonly R[], value: (r: R) => number): number[] {
  return a.flatMap((x) => b.filter((y) => y.round === x.round).map((y) => value(x) / value(y)));
}

/** `1.03x (0.94-1.10)`: the median of `ratios` and their range. */
export function ratioText(ratios: readonly number[]): string {
  return `${median(ratios).toFixed(2)}x (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`;
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Appends one JSON line to `file` (and creates bench/results/). */
export function appendJsonLine(file: string, value: unknown): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  appendFileSync(file, `${JSON.stringify(value)}\n`);
}

/** A results file name: bench/results/<name>-<timestamp>.jsonl */
export function resultsFile(name: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join(RESULTS_DIR, `${name}-${stamp}.jsonl`);
}

/** Machine and software notes for the results. */
export function machineNotes(pin: Pinning): Record<string, unknown> {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' }).stdout?.trim();
  const grpcJs = readVersion('@grpc/grpc-js');
  return {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    go,
    liftbridge: liftbridgeVersion(),
    grpcJs,
    goLiftbridge: 'v2.4.0',
    pinning: pin.enabled ? `broker on cpu ${pin.brokerCpu}, clients on cpu ${pin.clientCpu}` : 'none',
  };
}

function readVersion(pkg: string): string | undefined {
  const file = join(ROOT, 'node_modules', pkg, 'package.json');
  if (!existsSync(file)) return undefined;
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * How the measured Node child runs. Default: bundled once with esbuild (our TypeScript only;
 * packages stay imports from node_modules) and run with plain `node`, so that its RSS is the
 * SDK's and not tsx's loader (~35-40 MB more). BENCH_CHILD=tsx (or `viaTsx`, for profiles whose
 * frames must keep their source files) runs the .ts with tsx instead.
 */
export function prepareChild(
  name: string,
  viaTsx = false,
  /** The folder of bench/ that holds `<name>.ts`. */
  folder = 'subscribe',
): (pin: Pinning, args: readonly string[], nodeFlags?: readonly string[]) => [string, string[]] {
  const source = join(ROOT, 'bench', folder, `${name}.ts`);
  if (viaTsx || process.env.BENCH_CHILD === 'tsx') {
    return (pin, args, nodeFlags = []) => pinned(pin, process.execPath, [...nodeFlags, '--import', 'tsx', source, ...args]);
  }
  mkdirSync(BIN_DIR, { recursive: true });
  const out = join(BIN_DIR, `${name}.mjs`);
  const res = spawnSync(
    join(ROOT, 'node_modules', '.bin', 'esbuild'),
    [source, '--bundle', '--platform=node', '--format=esm', '--target=node20', '--packages=external', '--sourcemap', `--outfile=${out}`, '--log-level=warning'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (res.status !== 0) throw new Error(`esbuild of ${source} failed:\n${res.stdout}${res.stderr}`);
  return (pin, args, nodeFlags = []) => pinned(pin, process.execPath, [...nodeFlags, out, ...args]);
}

/** CPU time (µs) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/** Busy and total jiffies per CPU, from /proc/stat (Linux); empty elsewhere. */
export function cpuTimes(): { busy: number; total: number }[] {
  try {
    return readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => {
        const v = l.trim().split(/\s+/).slice(1).map(Number);
        const idle = (v[3] ?? 0) + (v[4] ?? 0);
        const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
        return { busy: total - idle, total };
      });
  } catch {
    return [];
  }
}

/**
 * Measures what happens around a run: the broker's CPU per message and how busy each core
 * was (anything above the broker's share on its core is someone else: a noisy neighbour).
 */
export async function withMachineLoad<T extends { msgs: number; seconds: number }>(
  brokerPid: number,
  run: () => Promise<T>,
): Promise<T & { brokerCpuUsPerMsg?: number; brokerCpuPct?: number; coreBusyPct?: number[] }> {
  const b0 = processCpuUs(brokerPid);
  const c0 = cpuTimes();
  const t0 = process.hrtime.bigint();
  const r = await run();
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  const b1 = processCpuUs(brokerPid);
  const c1 = cpuTimes();
  const extra: { brokerCpuUsPerMsg?: number; brokerCpuPct?: number; coreBusyPct?: number[] } = {};
  if (b0 !== undefined && b1 !== undefined) {
    // Over the whole child run (process start included): an upper bound for the read itself.
    extra.brokerCpuUsPerMsg = (b1 - b0) / r.msgs;
    extra.brokerCpuPct = (100 * (b1 - b0)) / wall;
  }
  if (c0.length > 0 && c0.length === c1.length) {
    extra.coreBusyPct = c1.map((c, i) => Math.round((100 * (c.busy - c0[i]!.busy)) / Math.max(1, c.total - c0[i]!.total)));
  }
  return { ...r, ...extra };
}
