/**
 * A real gRPC-web proxy (improbable-eng's grpcwebproxy, installed by scripts/install-liftbridge.mjs
 * through scripts/install-grpcwebproxy.mjs) in front of a real broker, on a free loopback port, for
 * the browser specs (spec/browser). The process is registered like the brokers (leftover cleanup,
 * killed on exit and signals) and stopped with the suite.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { ManagedProcess, PROJECT_ROOT, freePorts, logTail } from './broker.js';

/** The pin of scripts/install-grpcwebproxy.mjs (GRPCWEBPROXY_VERSION). */
export const GRPCWEBPROXY_VERSION = 'v0.15.0';

/** Where scripts/install-grpcwebproxy.mjs puts the binary ($GRPCWEBPROXY_BIN overrides). */
export function grpcWebProxyPath(): string {
  return process.env.GRPCWEBPROXY_BIN || join(PROJECT_ROOT, '.liftbridge', `grpcwebproxy-${GRPCWEBPROXY_VERSION}`, 'grpcwebproxy');
}

/** A running grpcwebproxy. */
export interface GrpcWebProxy {
  /** `http://127.0.0.1:<port>`: the URL browser clients talk to. */
  readonly url: string;
  readonly port: number;
  /** The broker it forwards to (`127.0.0.1:<port>`). */
  readonly backend: string;
  readonly pid: number;
  readonly logFile: string;
  /** Stops the proxy (SIGINT, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** The proxy binary, or undefined when it is not installed (`npm run install-servers` builds it). */
export function grpcWebProxyBinary(): string | undefined {
  const path = grpcWebProxyPath();
  return existsSync(path) ? path : undefined;
}

/**
 * Starts grpcwebproxy in front of `backend` (plaintext HTTP/1.1 and HTTP/2 on a free loopback port,
 * any origin allowed) and waits until it answers HTTP.
 */
export async function startGrpcWebProxy(backend: string, { readyTimeoutMs = 30_000 } = {}): Promise<GrpcWebProxy> {
  const binary = grpcWebProxyBinary();
  if (binary === undefined) throw new Error(`grpcwebproxy is not installed at ${grpcWebProxyPath()}: run \`npm run install-servers\``);
  const [port] = (await freePorts(1)) as [number];
  const dir = mkdtempSync(join(process.env.HARNESS_DATA_ROOT ?? tmpdir(), 'rx-liftbridge-grpcweb-'));
  const logFile = join(dir, 'grpcwebproxy.log');
  const proc = await ManagedProcess.spawn({
    kind: 'grpcwebproxy',
    binary,
    args: [
      `--backend_addr=${backend}`,
      '--run_tls_server=false',
      '--server_bind_address=127.0.0.1',
      `--server_http_debug_port=${port}`,
      '--allow_all_origins',
      // Unused without TLS; names the temp dir so that leftover cleanup recognises the process.
      `--server_tls_key_file=${join(dir, 'unused.key')}`,
    ],
    cwd: dir,
    logFile,
    marker: dir,
    tempDir: dir,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + readyTimeoutMs;
  for (;;) {
    const answered = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(1_000) }).then(
      async (res) => {
        await res.body?.cancel();
        return true;
      },
      () => false,
    );
    if (answered) break;
    if (!proc.running || Date.now() >= until) {
      const why = proc.running ? `not answering after ${readyTimeoutMs} ms` : 'exited';
      const tail = logTail(logFile, 30);
      await stop();
      throw new Error(`grpcwebproxy on ${url} ${why}. Log (${logFile}):\n${tail}`);
    }
    await Promise.race([delay(50), proc.exited]);
  }
  return { url, port, backend, pid: proc.pid, logFile, stop };
}

/**
 * Starts a proxy in `beforeAll` in front of `backend()` (called then, e.g. `() => broker.address`)
 * and stops it in `afterAll`. Register it after `useSingleNode()` so that it stops first.
 */
export function useGrpcWebProxy(backend: () => string): GrpcWebProxy {
  let proxy: GrpcWebProxy | undefined;
  beforeAll(async () => {
    proxy = await startGrpcWebProxy(backend());
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
  }, 30_000);
  const get = (): GrpcWebProxy => {
    if (proxy === undefined) throw new Error('useGrpcWebProxy() proxy is not started: use it inside tests or hooks');
    return proxy;
  };
  return {
    get url() {
      return get().url;
    },
    get port() {
      return get().port;
    },
    get backend() {
      return get().backend;
    },
    get pid() {
      return get().pid;
    },
    get logFile() {
      return get().logFile;
    },
    stop: () => get().stop(),
  };
}
