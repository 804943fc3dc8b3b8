/**
 * Real-broker test harness: starts Liftbridge single nodes (embedded NATS) and clusters (one
 * separate nats-server + N Liftbridge nodes) on free loopback ports with fresh temp data dirs, waits
 * until they really serve, and guarantees that no server process outlives the process that started it.
 *
 * Binaries come from `npm run install-servers` (scripts/install-liftbridge.mjs); the pins live in
 * liftbridge-versions.json. See /work/shared/liftbridge-wire-facts.md section 11 for the config used.
 *
 * Lifetime guarantees:
 * - every spawned process is registered in memory and in a registry file
 *   (`os.tmpdir()/rx-liftbridge-harness/procs/<pid>.json`);
 * - `stop()` sends SIGINT (Liftbridge's graceful stop), waits up to 5 s, then SIGKILL;
 * - on `exit` and on SIGINT/SIGTERM/SIGHUP of this process, every live child is SIGKILLed
 *   synchronously and temp dirs are removed;
 * - a later run's global setup kills whatever a SIGKILLed runner left behind (`killLeftovers`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  fstatSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ChannelCredentials, ClientError, Metadata, Status, createChannel, createClient, type Channel, type Client } from 'nice-grpc';
import { afterAll, beforeAll } from 'vitest';
import { APIDefinition } from '../../src/generated/liftbridge/api.js';

// ---------------------------------------------------------------------------------------------------
// Pins and binaries

/**
 * The server pins (liftbridge-versions.json): `primary` the newest release, `main` the unreleased
 * main (a Go pseudo-version), `compatibility` an older release for the smoke suite.
 */
export type Pin = 'primary' | 'main' | 'compatibility';
const PINS: readonly Pin[] = ['primary', 'main', 'compatibility'];

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PINS_FILE = join(PROJECT_ROOT, 'liftbridge-versions.json');
const INSTALL_HINT = 'Run `npm run install-servers -- --all` (node scripts/install-liftbridge.mjs --all) first.';

interface Pins {
  readonly module: string;
  readonly primary: string;
  readonly main: string;
  readonly compatibility: string;
}

function readPins(): Pins {
  const raw: unknown = JSON.parse(readFileSync(PINS_FILE, 'utf8'));
  const get = (key: string): string => {
    const value = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[key] : undefined;
    if (typeof value !== 'string' || value === '') throw new Error(`${PINS_FILE}: "${key}" must be a non-empty string`);
    return value;
  };
  return { module: get('module'), primary: get('primary'), main: get('main'), compatibility: get('compatibility') };
}

/** The pin tests use unless told otherwise: env `LIFTBRIDGE_PIN` (`primary` | `main` | `compatibility`), default primary. */
export function defaultPin(): Pin {
  const env = process.env.LIFTBRIDGE_PIN;
  if (env === undefined || env === '') return 'primary';
  const pin = PINS.find((p) => p === env);
  if (pin === undefined) throw new Error(`LIFTBRIDGE_PIN must be one of ${PINS.map((p) => JSON.stringify(p)).join(', ')}, got ${JSON.stringify(env)}`);
  return pin;
}

/**
 * Whether a Liftbridge version comes after v1.9.0, the last release: the unreleased main as a
 * pseudo-version (`v1.9.1-0.<time>-<commit>`) or a later (CalVer) release. Such servers have
 * reverse subscriptions (`SubscribeRequest.reverse`) and the `telemetry.*` settings; v1.x releases
 * reject unknown settings and ignore the reverse field.
 */
export function isAfterV1_9_0(version: string = liftbridgeVersion()): boolean {
  return compareCore(version, [1, 9, 0]) > 0;
}

/**
 * Whether a Liftbridge version is v1.8.0 or later: the release that added consumer groups
 * (`groups.*` settings) and `cursors.stream.replication.factor`.
 */
export function atLeastV1_8_0(version: string = liftbridgeVersion()): boolean {
  return compareCore(version, [1, 8, 0]) >= 0;
}

/**
 * Compares the `major.minor.patch` of a Go module version with `core`. A pre-release of x.y.z
 * (pseudo-versions after the vX.Y.(Z-1) tag are `vX.Y.Z-0.<time>-<commit>`) counts as x.y.z,
 * which is right for "after the previous release".
 */
function compareCore(version: string, core: readonly [number, number, number]): number {
  const m = /^v(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (m === null) throw new Error(`not a Go module version: ${JSON.stringify(version)}`);
  for (let i = 0; i < 3; i++) {
    const d = Number(m[i + 1]) - (core[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** The Liftbridge version string a pin names (e.g. `v1.9.0`). */
export function liftbridgeVersion(pin: Pin = defaultPin()): string {
  return readPins()[pin];
}

/** Path of the installed Liftbridge binary for `pin`; throws with the install instruction if missing. */
export function liftbridgeBinary(pin: Pin = defaultPin()): string {
  const version = liftbridgeVersion(pin);
  const binary = join(PROJECT_ROOT, '.liftbridge', version, 'liftbridge');
  if (!existsSync(binary)) {
    throw new Error(`Liftbridge ${version} (${pin} pin) is not installed at ${binary}. ${INSTALL_HINT}`);
  }
  return binary;
}

/** Path of nats-server ($NATS_SERVER_BIN, PATH, or /usr/sbin); throws with the install instruction if missing. */
export function natsServerBinary(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv} does not exist. ${INSTALL_HINT}`);
    return fromEnv;
  }
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d !== ''), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`nats-server is not installed (not on PATH, not in /usr/sbin). ${INSTALL_HINT}`);
}

/**
 * Checks, without installing, that the binaries for `pin` are present and report the pinned version.
 * Returns a list of problems (empty = all good).
 */
export function checkInstalled(pin: Pin = defaultPin()): string[] {
  const problems: string[] = [];
  try {
    const binary = liftbridgeBinary(pin);
    const version = liftbridgeVersion(pin);
    const res = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
    if (res.status !== 0 || !out.split(/\s+/).includes(version)) {
      problems.push(`${binary} --version prints ${JSON.stringify(out)}, expected ${version}. ${INSTALL_HINT}`);
    }
  } catch (err) {
    problems.push(errorMessage(err));
  }
  try {
    natsServerBinary();
  } catch (err) {
    problems.push(errorMessage(err));
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Small utilities

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A unique, subject-safe name for streams, groups, cursors: `<prefix>-<time>-<random>`. */
export function uniqueName(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Reserves `count` distinct free TCP ports on 127.0.0.1 (bind to :0, read, close; racy by nature). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolvePort, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolvePort(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected server address');
    return address.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  return ports;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
async function canConnect(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** The last `maxLines` lines of a file (reads at most the last 16 KiB). */
export function logTail(file: string, maxLines = 40): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, 16 * 1024);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n').slice(-maxLines).join('\n');
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `(no log: ${errorMessage(err)})`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Process registry (in memory + files) and synchronous cleanup

/** Directory of the cross-run registry: one `<pid>.json` per live spawned server process. */
export const REGISTRY_DIR = join(tmpdir(), 'rx-liftbridge-harness', 'procs');

export interface RegistryEntry {
  readonly pid: number;
  /** Start time of the process (clock ticks since boot, /proc/<pid>/stat field 22), guards against pid reuse. */
  readonly startTime: string | null;
  readonly kind: 'liftbridge' | 'nats-server' | 'grpcwebproxy';
  /** A string that the process's command line contains (its temp dir path). */
  readonly marker: string;
  /** The temp dir to delete when the process is cleaned up as a leftover. */
  readonly tempDir: string;
  readonly owner: number;
  readonly ownerStartTime: string | null;
  readonly command: string;
}

/**
 * The fields of a /proc `stat` file (a process's or a thread's) from field 3 on: [0] is the state,
 * [19] the start time. Undefined when the file is gone. Field 2 (comm) is in parentheses and may
 * contain spaces, so the split starts after the last ')'.
 */
function statFields(path: string): string[] | undefined {
  try {
    const stat = readFileSync(path, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function procStartTime(pid: number): string | null {
  return statFields(`/proc/${pid}/stat`)?.[19] ?? null;
}

/** True if `pid` exists and is not a zombie (a killed child not yet reaped counts as dead). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const state = statFields(`/proc/${pid}/stat`)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X'; // undefined: vanished in between
}

function sameProcess(pid: number, startTime: string | null): boolean {
  if (!isAlive(pid)) return false;
  return startTime === null || procStartTime(pid) === startTime;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

const OWN_START_TIME = procStartTime(process.pid);

function writeRegistry(entry: RegistryEntry): void {
  try {
    mkdirSync(REGISTRY_DIR, { recursive: true });
    writeFileSync(join(REGISTRY_DIR, `${entry.pid}.json`), `${JSON.stringify(entry)}\n`);
  } catch {
    // best effort: in-memory cleanup still applies
  }
}

function removeRegistry(pid: number): void {
  try {
    unlinkSync(join(REGISTRY_DIR, `${pid}.json`));
  } catch {
    // already gone
  }
}

/** Every registry entry on disk (any run). */
export function readRegistry(): RegistryEntry[] {
  let files: string[];
  try {
    files = readdirSync(REGISTRY_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const entries: RegistryEntry[] = [];
  for (const file of files) {
    try {
      entries.push(JSON.parse(readFileSync(join(REGISTRY_DIR, file), 'utf8')) as RegistryEntry);
    } catch {
      // half-written or removed meanwhile: ignore
    }
  }
  return entries;
}

/** Whether the registered process is still the server we spawned (alive, same start time, cmdline matches). */
export function isRegisteredServerAlive(entry: RegistryEntry): boolean {
  if (!sameProcess(entry.pid, entry.startTime)) return false;
  const cmd = cmdline(entry.pid);
  return /liftbridge|nats-server|grpcwebproxy/.test(cmd) && cmd.includes(entry.marker);
}

export interface LeftoverReport {
  /** Server processes that were still alive and got SIGKILLed. */
  readonly killed: RegistryEntry[];
  /** Entries whose process was already gone (files and temp dirs removed). */
  readonly stale: RegistryEntry[];
}

/**
 * Kills server processes recorded in the registry whose owning (test) process is dead, removes their
 * temp dirs and registry files. Entries of live owners (another running worker or test run) are left alone.
 */
export function killLeftovers(): LeftoverReport {
  const killed: RegistryEntry[] = [];
  const stale: RegistryEntry[] = [];
  for (const entry of readRegistry()) {
    if (entry.owner !== process.pid && sameProcess(entry.owner, entry.ownerStartTime)) continue;
    if (entry.owner === process.pid && live.has(entry.pid)) continue;
    if (isRegisteredServerAlive(entry)) {
      try {
        process.kill(entry.pid, 'SIGKILL');
      } catch {
        // raced with its death
      }
      killed.push(entry);
    } else {
      stale.push(entry);
    }
    removeRegistry(entry.pid);
    if (entry.tempDir.includes('rx-liftbridge-')) rmSync(entry.tempDir, { recursive: true, force: true });
  }
  return { killed, stale };
}

/** Processes spawned by this process that have not exited yet. */
const live = new Map<number, ManagedProcess>();
/** Temp dirs created by this process and not removed yet. */
const ownedDirs = new Set<string>();

let handlersInstalled = false;
let signalCleanup = true;

/**
 * Kills every live process spawned by this harness in this process with SIGKILL and removes the temp
 * dirs, synchronously. Safe to call from `exit` and signal handlers.
 */
export function killAllSync(): void {
  for (const proc of live.values()) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    removeRegistry(proc.pid);
  }
  live.clear();
  if (process.env.HARNESS_KEEP_DATA !== '1') {
    for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
  }
  ownedDirs.clear();
}

/**
 * Whether SIGINT/SIGTERM/SIGHUP of this process kill the spawned servers (default on). A foreground
 * tool that wants a graceful stop on Ctrl-C (scripts/broker-main.ts) turns it off and handles the signal
 * itself; the `exit` hook stays active either way.
 */
export function setSignalCleanup(enabled: boolean): void {
  signalCleanup = enabled;
}

function onSignal(signal: NodeJS.Signals): void {
  if (!signalCleanup) return;
  killAllSync();
  // Re-raise with the default disposition unless someone else handles this signal.
  process.removeListener(signal, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}

function makeTempDir(prefix: string): string {
  const base = process.env.HARNESS_DATA_ROOT ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, `rx-liftbridge-${prefix}-`));
  ownedDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  ownedDirs.delete(dir);
  if (process.env.HARNESS_KEEP_DATA !== '1') rmSync(dir, { recursive: true, force: true });
}

interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Returns once every thread of `pid` is stopped (state T in /proc), so that a frozen server is
 * frozen when pause() returns: SIGSTOP takes effect on each thread as the kernel gets to it, and a
 * CI run once saw a call answered right after pause(). Gives up after 2 s (or where /proc is absent).
 */
function waitUntilStopped(pid: number): void {
  const deadline = Date.now() + 2_000;
  const dir = `/proc/${pid}/task`;
  const stopped = (): boolean => {
    try {
      return readdirSync(dir).every((tid) => {
        const state = statFields(`${dir}/${tid}/stat`)?.[0];
        return state === undefined || state === 'T' || state === 't'; // undefined: the thread ended
      });
    } catch {
      return true; // exited, or no /proc: nothing to wait for
    }
  };
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!stopped() && Date.now() < deadline) Atomics.wait(nap, 0, 0, 1);
}

/** One spawned server process: output appended to a log file, registered until it exits. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private paused = false;

  private constructor(
    readonly command: string,
    child: ChildProcess,
    pid: number,
    exited: Promise<ExitInfo>,
  ) {
    this.child = child;
    this.pid = pid;
    this.exited = exited;
    void exited.then((info) => {
      this.exitInfo = info;
    });
  }

  static async spawn(opts: {
    readonly kind: RegistryEntry['kind'];
    readonly binary: string;
    readonly args: readonly string[];
    readonly cwd: string;
    readonly logFile: string;
    readonly marker: string;
    readonly tempDir: string;
    readonly env?: Readonly<Record<string, string>> | undefined;
  }): Promise<ManagedProcess> {
    installHandlers();
    const command = [opts.binary, ...opts.args].join(' ');
    appendFileSync(opts.logFile, `=== harness: ${new Date().toISOString()} starting ${command}\n`);
    const fd = openSync(opts.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(opts.binary, [...opts.args], {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        stdio: ['ignore', fd, fd],
        detached: false,
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((done) => child.once('error', done));
      throw new Error(`could not start ${command}: ${err.message}`);
    }
    const exited = new Promise<ExitInfo>((done) => {
      child.once('exit', (code, signal) => {
        live.delete(pid);
        removeRegistry(pid);
        done({ code, signal });
      });
    });
    const proc = new ManagedProcess(command, child, pid, exited);
    live.set(pid, proc);
    writeRegistry({
      pid,
      startTime: procStartTime(pid),
      kind: opts.kind,
      marker: opts.marker,
      tempDir: opts.tempDir,
      owner: process.pid,
      ownerStartTime: OWN_START_TIME,
      command,
    });
    return proc;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  get isPaused(): boolean {
    return this.paused && this.running;
  }

  /** Waits for exit up to `ms`; true if it exited. */
  async waitExit(ms: number): Promise<boolean> {
    if (!this.running) return true;
    const ac = new AbortController();
    const timedOut = delay(ms, false, { signal: ac.signal }).catch(() => false);
    const result = await Promise.race([this.exited.then(() => true), timedOut]);
    ac.abort();
    return result;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // exited meanwhile
    }
  }

  pause(): void {
    this.signal('SIGSTOP');
    this.paused = true;
    waitUntilStopped(this.pid);
  }

  resume(): void {
    this.signal('SIGCONT');
    this.paused = false;
  }

  /** SIGINT, wait up to `graceMs`, then SIGKILL; resolves once the process has exited. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGINT');
    if (this.paused) this.resume();
    if (await this.waitExit(graceMs)) return;
    this.signal('SIGKILL');
    await this.exited;
  }

  /** Sends `signal` (default SIGKILL) and waits for exit; throws if it is still alive after 10 s. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.signal(signal);
    if (this.paused) this.resume();
    if (!(await this.waitExit(10_000))) {
      throw new Error(`${this.command} (pid ${this.pid}) is still alive 10 s after ${signal}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// gRPC helpers

export type ApiClient = Client<typeof APIDefinition>;

/** A raw generated API client on `address`; close it when done. Used by the harness and its own specs. */
export function openApiClient(address: string, tls?: NodeTls): { readonly client: ApiClient; readonly channel: Channel; close(): void } {
  const credentials =
    tls === undefined
      ? undefined
      : ChannelCredentials.createSsl(
          readFileSync(tls.caFile),
          tls.clientAuth === undefined ? null : readFileSync(tls.clientAuth.clientKeyFile),
          tls.clientAuth === undefined ? null : readFileSync(tls.clientAuth.clientCertFile),
        );
  const channel = createChannel(address, credentials, {
    // Reconnect quickly while a server is starting.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 500,
  });
  const client = createClient(APIDefinition, channel);
  return { client, channel, close: () => channel.close() };
}

/**
 * Options that bound a nice-grpc call to `ms` on both sides. nice-grpc has no built-in `deadline`
 * option (it needs a middleware, and even that is client-side only), so: an AbortSignal for the
 * client, and a `grpc-timeout` header so the server knows the deadline too (Liftbridge uses the
 * client deadline to wait for a metadata leader and for Raft applies).
 */
export function callOptions(ms: number): { signal: AbortSignal; metadata: Metadata } {
  return { signal: AbortSignal.timeout(ms), metadata: Metadata({ 'grpc-timeout': `${Math.max(1, Math.ceil(ms))}m` }) };
}

// ---------------------------------------------------------------------------------------------------
// Liftbridge configuration

/** TLS files for a test server (PEM paths). */
export interface NodeTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that signed `certFile`; the harness's own probe trusts it. */
  readonly caFile: string;
  /** Mutual TLS: clients must present a certificate signed by `caFile` (the probe uses this one). */
  readonly clientAuth?: { readonly clientCertFile: string; readonly clientKeyFile: string };
}

export interface NodeOptions {
  /** Which pinned server to run. @defaultValue env LIFTBRIDGE_PIN, else 'primary' */
  readonly pin?: Pin;
  /** `cursors.stream.partitions`; 0 disables cursors (and consumer groups). @defaultValue 2 */
  readonly cursorsPartitions?: number;
  /** Enables the `__activity` stream (ack policy leader). @defaultValue true */
  readonly activity?: boolean;
  /**
   * Extra Liftbridge YAML settings, merged over the harness defaults. Nested objects are flattened to
   * dotted keys; a `null` value removes a default key.
   */
  readonly extraConfig?: Readonly<Record<string, unknown>>;
  /** Serve TLS (and require client certificates with `clientAuth`). The readiness probe uses the same files. */
  readonly tls?: NodeTls;
  /** `logging.level`. @defaultValue 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Extra environment for the server processes (e.g. LIFTBRIDGE_ENCRYPTION_KEY). */
  readonly env?: Readonly<Record<string, string>>;
  /** Overall readiness timeout. @defaultValue 30 s (single node), 60 s (cluster) */
  readonly readyTimeoutMs?: number;
  /** Single node only: listen on this port instead of a free one (for `npm run broker`). */
  readonly port?: number;
}

export interface ClusterOptions extends NodeOptions {
  /** Number of Liftbridge nodes. @defaultValue 3 */
  readonly size?: number;
}

function flatten(source: Readonly<Record<string, unknown>>, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  for (const [key, value] of Object.entries(source)) {
    const full = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)) {
      flatten(value as Record<string, unknown>, full, out);
    } else {
      out[full] = value;
    }
  }
  return out;
}

/** YAML with one dotted key per line; values in JSON flow syntax (a subset of YAML). */
function toYaml(settings: Readonly<Record<string, unknown>>): string {
  return `${Object.entries(settings)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join('\n')}\n`;
}

function liftbridgeSettings(p: {
  readonly version: string;
  readonly id: string;
  readonly port: number;
  readonly dataDir: string;
  readonly natsPort: number;
  readonly embeddedNatsConfig: string | undefined;
  readonly namespace: string;
  readonly clusterIds: readonly string[] | undefined;
  readonly options: NodeOptions;
}): Record<string, unknown> {
  const o = p.options;
  const cursorsPartitions = o.cursorsPartitions ?? 2;
  const settings: Record<string, unknown> = {
    host: '127.0.0.1',
    port: p.port,
    'data.dir': join(p.dataDir, 'data'),
    'logging.level': o.logLevel ?? 'info',
    'nats.servers': [`nats://127.0.0.1:${p.natsPort}`],
    ...(p.embeddedNatsConfig !== undefined ? { 'nats.embedded.config': p.embeddedNatsConfig } : {}),
    'clustering.server.id': p.id,
    'clustering.namespace': p.namespace,
    ...(p.clusterIds === undefined ? { 'clustering.raft.bootstrap.seed': true } : { 'clustering.raft.bootstrap.peers': [...p.clusterIds] }),
    // Fast failure detection for tests (wire facts 11(c)).
    'clustering.replica.max.lag.time': '2s',
    'clustering.replica.max.leader.timeout': '2s',
    'clustering.replica.max.idle.wait': '500ms',
    'clustering.replica.fetch.timeout': '1s',
    // Consumer groups (and their settings) came with v1.8.0; older releases reject unknown keys.
    ...(atLeastV1_8_0(p.version) ? { 'groups.consumer.timeout': '2s', 'groups.coordinator.timeout': '2s' } : {}),
    'metadata.cache.max.age': '2s',
    ...(cursorsPartitions > 0
      ? {
          'cursors.stream.partitions': cursorsPartitions,
          ...(atLeastV1_8_0(p.version) ? { 'cursors.stream.replication.factor': -1 } : {}),
          'cursors.stream.auto.pause.time': '0s',
        }
      : {}),
    ...((o.activity ?? true) ? { 'activity.stream.enabled': true, 'activity.stream.publish.ack.policy': 'leader' } : {}),
    // Telemetry only exists after v1.9.0 (off: tests send nothing anywhere); v1.x rejects unknown keys.
    ...(isAfterV1_9_0(p.version) ? { 'telemetry.enabled': false } : {}),
    ...(o.tls === undefined ? {} : { 'tls.cert': o.tls.certFile, 'tls.key': o.tls.keyFile }),
    ...(o.tls?.clientAuth === undefined ? {} : { 'tls.client.auth.enabled': true, 'tls.client.auth.ca': o.tls.caFile }),
  };
  return { ...settings, ...flatten(o.extraConfig ?? {}) };
}

function newNamespace(): string {
  return `rxlb_${process.pid}_${randomBytes(5).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------------
// Nodes

/** One Liftbridge server process (restartable on the same port and data dir). */
export interface BrokerNode {
  /** `clustering.server.id` (s1 for a single node, n1..nN in a cluster). */
  readonly id: string;
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `127.0.0.1:<port>`, ready for the client's `brokers` option. */
  readonly address: string;
  /** The NATS port this node talks to (its embedded NATS for a single node, the shared one in a cluster). */
  readonly natsPort: number;
  /** Pid of the current server process (changes on restart). */
  readonly pid: number;
  /** This node's temp dir (config, log, `data/`). */
  readonly dataDir: string;
  /** The server's stdout+stderr, appended across restarts. */
  readonly logFile: string;
  readonly namespace: string;
  /** False after stop()/kill() until restart(). */
  readonly running: boolean;
  /** Graceful stop (SIGINT, 5 s, then SIGKILL). A single node also deletes its data dir; a cluster node keeps it for restart(). */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit. Data is kept: restart() works. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the process freezes (sockets stay open; a black hole for clients and peers). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the process if running, starts it again on the same port and data dir, waits until ready. */
  restart(): Promise<void>;
  /** The last lines of the log. */
  logTail(lines?: number): string;
  /** Resolves when the current server process exits (at once if it is not running). */
  waitForExit(): Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
}

/** A single Liftbridge node with embedded NATS. stop() deletes its data dir. */
export type SingleNode = BrokerNode;

class LiftbridgeNode implements BrokerNode {
  readonly host = '127.0.0.1' as const;
  private proc: ManagedProcess | undefined;
  private destroyed = false;
  /** Set by the owner (single node or cluster): how to decide this node is ready after a (re)start. */
  waitReady: (node: LiftbridgeNode, timeoutMs: number) => Promise<void> = async () => {};

  constructor(
    readonly id: string,
    readonly port: number,
    readonly natsPort: number,
    readonly dataDir: string,
    readonly namespace: string,
    private readonly binary: string,
    private readonly configFile: string,
    private readonly marker: string,
    private readonly tempDir: string,
    private readonly removeDirOnStop: boolean,
    private readonly readyTimeoutMs: number,
    private readonly env: Readonly<Record<string, string>> | undefined,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get logFile(): string {
    return join(this.dataDir, 'liftbridge.log');
  }

  get pid(): number {
    if (this.proc === undefined) throw new Error(`node ${this.id} was never started`);
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get process(): ManagedProcess | undefined {
    return this.proc;
  }

  /** Running and not SIGSTOPped. */
  get serving(): boolean {
    return this.running && !(this.proc?.isPaused ?? false);
  }

  logTail(lines = 40): string {
    return logTail(this.logFile, lines);
  }

  async waitForExit(): Promise<ExitInfo> {
    return this.proc?.exited ?? { code: null, signal: null };
  }

  /** Spawns the server (does not wait for readiness). */
  async spawn(): Promise<void> {
    if (this.destroyed) throw new Error(`node ${this.id} was stopped for good (its data dir is gone)`);
    if (this.running) throw new Error(`node ${this.id} is already running (pid ${this.pid})`);
    this.proc = await ManagedProcess.spawn({
      kind: 'liftbridge',
      binary: this.binary,
      args: ['--config', this.configFile],
      cwd: this.dataDir,
      logFile: this.logFile,
      marker: this.marker,
      tempDir: this.tempDir,
      env: this.env,
    });
  }

  /** Throws a descriptive error if the process has exited. */
  assertRunning(context: string): void {
    const info = this.proc?.exitInfo;
    if (this.proc === undefined || info !== undefined) {
      const how = info === undefined ? 'was not started' : `exited (code ${info.code}, signal ${info.signal})`;
      throw new StartupError(`${context}: liftbridge ${this.id} on ${this.address} ${how}`, [this]);
    }
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    if (this.removeDirOnStop && !this.destroyed) {
      this.destroyed = true;
      removeTempDir(this.tempDir);
    }
  }

  /** Stops and deletes the data dir regardless of the node kind (used by Cluster.stop()). */
  async destroy(): Promise<void> {
    await this.proc?.stop();
    this.destroyed = true;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc?.kill(signal);
  }

  pause(): void {
    this.proc?.pause();
  }

  resume(): void {
    this.proc?.resume();
  }

  async restart(): Promise<void> {
    if (this.running) await this.proc?.stop();
    await this.spawn();
    await this.waitReady(this, this.readyTimeoutMs);
  }
}

/** A startup/readiness failure; the message includes the tail of every involved log. */
export class StartupError extends Error {
  /** Whether a log says a port was taken (the free-port race): worth one more try on new ports. */
  readonly addressInUse: boolean;

  constructor(
    message: string,
    readonly nodes: readonly BrokerNode[],
    options?: { cause?: unknown },
  ) {
    const tails = nodes.map((n) => `--- ${n.id} log (${n.logFile}), last lines:\n${n.logTail(30)}`).join('\n');
    super(`${message}\n${tails}`, options);
    this.name = 'StartupError';
    this.addressInUse = nodes.some((n) => /address already in use/i.test(n.logTail(200)));
  }
}

interface ReadinessTarget {
  /** Nodes that must answer FetchMetadata listing `expectIds` (and `__cursors` when `cursors`). */
  readonly nodes: readonly LiftbridgeNode[];
  readonly expectIds: readonly string[];
  readonly cursors: boolean;
  /** Node that runs the CreateStream/DeleteStream probe. */
  readonly probeVia: LiftbridgeNode;
  readonly replicationFactor: number;
  /** Every process whose death means startup failed. */
  readonly watch: readonly LiftbridgeNode[];
  /** TLS settings of the nodes, for the probe. */
  readonly tls?: NodeTls | undefined;
}

/**
 * Ready = every target node answers FetchMetadata listing all expected brokers (and `__cursors` when
 * cursors are enabled), and a CreateStream with the wanted replication factor succeeds (then the
 * throwaway stream is deleted). Retries until `timeoutMs`; fails fast if a server process exits.
 */
async function waitUntilReady(target: ReadinessTarget, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const clients = new Map(target.nodes.map((n) => [n, openApiClient(n.address, target.tls)] as const));
  const probeClient = clients.get(target.probeVia) ?? openApiClient(target.probeVia.address, target.tls);
  const ownsProbe = !clients.has(target.probeVia);
  let lastProblem = 'no attempt made';
  let attempt = 0;
  try {
    for (;;) {
      attempt += 1;
      for (const node of target.watch) node.assertRunning('while waiting for readiness');
      try {
        lastProblem = await readinessProblem(target, clients, probeClient);
        if (lastProblem === '') return;
      } catch (err) {
        lastProblem = err instanceof ClientError ? `${Status[err.code]}: ${err.details}` : errorMessage(err);
      }
      if (Date.now() >= until) {
        throw new StartupError(`Liftbridge not ready after ${timeoutMs} ms (${attempt} attempts); last problem: ${lastProblem}`, target.watch);
      }
      // Poll again soon, but wake up at once if a watched process dies.
      const ac = new AbortController();
      await Promise.race([
        delay(attempt < 20 ? 100 : 300, undefined, { signal: ac.signal }).catch(() => undefined),
        ...target.watch.map((n) => n.process?.exited ?? Promise.resolve()),
      ]);
      ac.abort();
    }
  } finally {
    for (const c of clients.values()) c.close();
    if (ownsProbe) probeClient.close();
  }
}

/** '' when ready, else what is missing. Throws on call failures. */
async function readinessProblem(
  target: ReadinessTarget,
  clients: ReadonlyMap<LiftbridgeNode, ReturnType<typeof openApiClient>>,
  probe: ReturnType<typeof openApiClient>,
): Promise<string> {
  for (const [node, { client }] of clients) {
    const md = await client.fetchMetadata({}, callOptions(4_000));
    const ids = new Set(md.brokers.map((b) => b.id));
    const missing = target.expectIds.filter((id) => !ids.has(id));
    if (missing.length > 0) {
      return `${node.id}'s FetchMetadata lists brokers [${[...ids].join(', ')}], missing [${missing.join(', ')}]`;
    }
    if (target.cursors && !md.streamMetadata.some((s) => s.name === '__cursors')) {
      return `${node.id}'s FetchMetadata does not list the __cursors stream yet`;
    }
  }
  const name = uniqueName('harness-ready');
  await probe.client.createStream({ name, subject: name, partitions: 1, replicationFactor: target.replicationFactor }, callOptions(10_000));
  try {
    await probe.client.deleteStream({ name }, callOptions(10_000));
  } catch (err) {
    if (!(err instanceof ClientError && err.code === Status.NOT_FOUND)) throw err;
  }
  return '';
}

async function withPortRetry<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof StartupError && err.addressInUse) return start();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------
// Single node

/** Starts one Liftbridge node with embedded NATS on free loopback ports and waits until it serves. */
export async function startSingleNode(options: NodeOptions = {}): Promise<SingleNode> {
  return withPortRetry(() => startSingleNodeOnce(options));
}

async function startSingleNodeOnce(options: NodeOptions): Promise<SingleNode> {
  const pin = options.pin ?? defaultPin();
  const binary = liftbridgeBinary(pin);
  const version = liftbridgeVersion(pin);
  const [freePort, natsPort] = (await freePorts(2)) as [number, number];
  const port = options.port ?? freePort;
  const dataDir = makeTempDir('single');
  const namespace = newNamespace();
  const natsConfig = join(dataDir, 'nats.conf');
  writeFileSync(natsConfig, `host: 127.0.0.1\nport: ${natsPort}\n`);
  const configFile = join(dataDir, 'liftbridge.yaml');
  const id = 's1';
  writeFileSync(
    configFile,
    toYaml(
      liftbridgeSettings({
        version,
        id,
        port,
        dataDir,
        natsPort,
        embeddedNatsConfig: natsConfig,
        namespace,
        clusterIds: undefined,
        options,
      }),
    ),
  );
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const node = new LiftbridgeNode(id, port, natsPort, dataDir, namespace, binary, configFile, dataDir, dataDir, true, readyTimeoutMs, options.env);
  const cursors = (options.cursorsPartitions ?? 2) > 0;
  node.waitReady = (n, timeoutMs) =>
    waitUntilReady({ nodes: [n], expectIds: [n.id], cursors, probeVia: n, replicationFactor: 1, watch: [n], tls: options.tls }, timeoutMs);
  try {
    await node.spawn();
    await node.waitReady(node, readyTimeoutMs);
    return node;
  } catch (err) {
    const wrapped = err instanceof StartupError ? err : new StartupError(`could not start liftbridge: ${errorMessage(err)}`, [node], { cause: err });
    await node.stop().catch(() => undefined);
    throw wrapped;
  }
}

// ---------------------------------------------------------------------------------------------------
// Cluster

export interface NatsProcess {
  readonly port: number;
  /** Pid of the current nats-server process (changes on restart). */
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
  /** Stops nats-server (SIGKILL) and starts it again on the same port; resolves when it accepts connections. */
  restart(): Promise<void>;
}

export interface Cluster {
  readonly nodes: readonly BrokerNode[];
  /** `127.0.0.1:<port>` of every node, in node order. */
  readonly addresses: readonly string[];
  readonly nats: NatsProcess;
  readonly namespace: string;
  /** The cluster's temp dir (n1/, n2/, ..., nats.log). */
  readonly dir: string;
  /** A node by id (`n1`...). */
  node(id: string): BrokerNode;
  /** Kills a node (by 0-based index or id) with `signal` (default SIGKILL) and waits for its exit. */
  kill(node: number | string, signal?: NodeJS.Signals): Promise<void>;
  /** Restarts a node (by 0-based index or id) and waits until the cluster sees it again. */
  restart(node: number | string): Promise<void>;
  /** Stops every node gracefully, then NATS, and deletes all data. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a separate nats-server and `size` Liftbridge nodes (n1..nN, all Raft bootstrap peers). */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  return withPortRetry(() => startClusterOnce(options));
}

async function startClusterOnce(options: ClusterOptions): Promise<Cluster> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`cluster size must be a positive integer, got ${size}`);
  const pin = options.pin ?? defaultPin();
  const binary = liftbridgeBinary(pin);
  const natsBinary = natsServerBinary();
  const version = liftbridgeVersion(pin);
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;
  const ports = await freePorts(size + 1);
  const natsPort = ports[size] as number;
  const dir = makeTempDir('cluster');
  const namespace = newNamespace();
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const cursors = (options.cursorsPartitions ?? 2) > 0;

  const natsLog = join(dir, 'nats.log');
  let natsProc: ManagedProcess | undefined;
  const nodes: LiftbridgeNode[] = [];
  let stopped = false;

  const stopAll = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.destroy()));
    await natsProc?.stop();
    removeTempDir(dir);
  };

  const spawnNats = async (): Promise<ManagedProcess> => {
    const proc = await ManagedProcess.spawn({
      kind: 'nats-server',
      binary: natsBinary,
      args: ['-a', '127.0.0.1', '-p', String(natsPort), '-P', join(dir, 'nats.pid')],
      cwd: dir,
      logFile: natsLog,
      marker: dir,
      tempDir: dir,
    });
    await waitForNats(proc, natsPort, natsLog, 10_000);
    return proc;
  };

  try {
    natsProc = await spawnNats();

    ids.forEach((id, i) => {
      const dataDir = join(dir, id);
      mkdirSync(dataDir);
      const port = ports[i] as number;
      const configFile = join(dataDir, 'liftbridge.yaml');
      writeFileSync(
        configFile,
        toYaml(
          liftbridgeSettings({
            version,
            id,
            port,
            dataDir,
            natsPort,
            embeddedNatsConfig: undefined,
            namespace,
            clusterIds: ids,
            options,
          }),
        ),
      );
      nodes.push(new LiftbridgeNode(id, port, natsPort, dataDir, namespace, binary, configFile, dir, dir, false, readyTimeoutMs, options.env));
    });

    // After a (re)start of one node: every running node sees every running node, and a stream
    // replicated on all running nodes can be created through the restarted one.
    const clusterReady = (via: LiftbridgeNode, timeoutMs: number): Promise<void> => {
      const up = nodes.filter((n) => n.serving);
      return waitUntilReady(
        {
          nodes: up,
          expectIds: up.map((n) => n.id),
          cursors,
          probeVia: via,
          replicationFactor: up.length,
          watch: up,
        },
        timeoutMs,
      );
    };
    for (const node of nodes) node.waitReady = clusterReady;

    await Promise.all(nodes.map((n) => n.spawn()));
    const first = nodes[0] as LiftbridgeNode;
    await clusterReady(first, readyTimeoutMs);
  } catch (err) {
    const wrapped = err instanceof StartupError ? err : new StartupError(`could not start the cluster: ${errorMessage(err)}`, nodes, { cause: err });
    await stopAll().catch(() => undefined);
    throw wrapped;
  }

  let nats = natsProc;
  const pick = (which: number | string): LiftbridgeNode => {
    const found = typeof which === 'number' ? nodes[which] : nodes.find((n) => n.id === which);
    if (found === undefined) throw new Error(`no node ${JSON.stringify(which)} in this cluster (ids ${ids.join(', ')})`);
    return found;
  };
  return {
    nodes,
    addresses: nodes.map((n) => n.address),
    nats: {
      port: natsPort,
      get pid() {
        return nats.pid;
      },
      logFile: natsLog,
      stop: () => nats.stop(),
      restart: async () => {
        await nats.kill('SIGKILL');
        nats = await spawnNats();
        natsProc = nats;
      },
    },
    namespace,
    dir,
    node: (id) => pick(id),
    kill: (which, signal) => pick(which).kill(signal),
    restart: (which) => pick(which).restart(),
    stop: stopAll,
  };
}

async function waitForNats(proc: ManagedProcess, port: number, logFile: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (!proc.running || Date.now() >= until) {
      const why = proc.running ? `not accepting connections after ${timeoutMs} ms` : 'exited';
      throw new Error(`nats-server on 127.0.0.1:${port} ${why}. Log (${logFile}):\n${logTail(logFile, 30)}`);
    }
    await Promise.race([delay(50), proc.exited]);
  }
}

// ---------------------------------------------------------------------------------------------------
// Vitest helpers

function lazyNode(get: () => BrokerNode | undefined, what: string): BrokerNode {
  const node = (): BrokerNode => {
    const n = get();
    if (n === undefined) throw new Error(`${what} is not started: use it inside tests or hooks, not at collection time`);
    return n;
  };
  return {
    get id() {
      return node().id;
    },
    get host() {
      return node().host;
    },
    get port() {
      return node().port;
    },
    get address() {
      return node().address;
    },
    get natsPort() {
      return node().natsPort;
    },
    get pid() {
      return node().pid;
    },
    get dataDir() {
      return node().dataDir;
    },
    get logFile() {
      return node().logFile;
    },
    get namespace() {
      return node().namespace;
    },
    get running() {
      return node().running;
    },
    stop: () => node().stop(),
    kill: (signal) => node().kill(signal),
    pause: () => node().pause(),
    resume: () => node().resume(),
    restart: () => node().restart(),
    logTail: (lines) => node().logTail(lines),
    waitForExit: () => node().waitForExit(),
  };
}

/**
 * Starts a single node in `beforeAll` and stops it in `afterAll`; returns a live view of it:
 * `const broker = useSingleNode(); it('...', () => connect({ brokers: [broker.address] }))`.
 */
export function useSingleNode(options: NodeOptions = {}): SingleNode {
  let node: SingleNode | undefined;
  beforeAll(
    async () => {
      node = await startSingleNode(options);
    },
    (options.readyTimeoutMs ?? 30_000) * 2 + 10_000,
  );
  afterAll(async () => {
    await node?.stop();
  }, 30_000);
  return lazyNode(() => node, 'useSingleNode() broker');
}

/** Starts a cluster in `beforeAll` and stops it in `afterAll`; returns a live view of it. */
export function useCluster(options: ClusterOptions = {}): Cluster {
  let cluster: Cluster | undefined;
  beforeAll(
    async () => {
      cluster = await startCluster(options);
    },
    (options.readyTimeoutMs ?? 60_000) * 2 + 10_000,
  );
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);
  const c = (): Cluster => {
    if (cluster === undefined) throw new Error('useCluster() cluster is not started: use it inside tests or hooks');
    return cluster;
  };
  return {
    get nodes() {
      return c().nodes;
    },
    get addresses() {
      return c().addresses;
    },
    get nats() {
      return c().nats;
    },
    get namespace() {
      return c().namespace;
    },
    get dir() {
      return c().dir;
    },
    node: (id) => c().node(id),
    kill: (which, signal) => c().kill(which, signal),
    restart: (which) => c().restart(which),
    stop: () => c().stop(),
  };
}

/** Pids of live processes this harness spawned in this process (for leak assertions). */
export function livePids(): number[] {
  return [...live.keys()];
}
