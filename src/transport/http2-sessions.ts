/**
 * HTTP/2 sessions to the brokers for the PublishAsync and Subscribe clients (one set each): connecting (TLS, connect timeout,
 * the broker's SETTINGS), keepalive pings and probes, idle close, GOAWAY, and the per-connection
 * stream cap. A session carries at most `maxStreamsPerConnection` calls; past it a new session to
 * the same broker is opened, as the grpc-js pool does for its connections.
 *
 * Sessions are unref'd while nothing waits to be written: they never keep a process alive by
 * themselves (a call holding unsent messages refs its session through {@link Http2Session.holding}).
 *
 * Internal (not exported from the package root).
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import { ConnectionError } from '../errors/errors.js';
import type { TransportSettings } from './connection-pool.js';

/** One HTTP/2 session (one TCP connection) to a broker. */
export interface Http2Session {
  readonly id: number;
  readonly address: string;
  readonly session: ClientHttp2Session;
  readonly tls: boolean;
  /** The broker's SETTINGS arrived: before that, nothing is written, so nothing can have left. */
  connected: boolean;
  /** Why the session failed (connect error, TLS error, connect timeout, unanswered ping). */
  failure: Error | undefined;
  /** Last stream id the broker processed, from its GOAWAY. */
  goawayLastStreamId: number | undefined;
  /** Calls waiting for the connection, to start writing. */
  readonly onConnected: Set<() => void>;
  /** Calls open on it (stream slots taken). */
  calls: number;
  idleTimer: NodeJS.Timeout | undefined;
  pingTimer: NodeJS.Timeout | undefined;
  connectTimer: NodeJS.Timeout | undefined;
  probing: boolean;
  /** Calls with messages not yet on the socket: while any, the session keeps the process alive. */
  holding: number;
}

/** Options of the HTTP/2 sessions. */
export interface Http2SessionOptions {
  /** How long a new session may take to connect (TCP, TLS and the broker's HTTP/2 SETTINGS), in ms. @defaultValue 10 000 */
  readonly connectTimeoutMs?: number;
  /** How long a session without calls stays open, in ms. @defaultValue 30 000 */
  readonly idleMs?: number;
  /** Connection ids, shared with the grpc-js pool so that `stats()` ids are unique. */
  readonly nextId?: () => number;
  /**
   * Receive window of each stream, in bytes (HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE); the
   * connection's window is this times `maxStreamsPerConnection` (at most 2^31 - 1). Unset: HTTP/2's 65 535.
   */
  readonly windowBytes?: number;
}

/** A session in `stats()`. */
export interface Http2SessionStats {
  readonly id: number;
  readonly streams: number;
  readonly state: string;
}

export class Http2Sessions {
  private readonly byAddress = new Map<string, Http2Session[]>();
  private readonly connectTimeoutMs: number;
  private readonly idleMs: number;
  private readonly nextId: () => number;
  private readonly windowBytes: number | undefined;

  constructor(
    private readonly settings: TransportSettings,
    options: Http2SessionOptions = {},
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.idleMs = options.idleMs ?? 30_000;
    let id = 0;
    this.nextId = options.nextId ?? (() => ++id);
    this.windowBytes = options.windowBytes;
  }

  /** Open sessions. */
  get count(): number {
    let n = 0;
    for (const list of this.byAddress.values()) n += list.length;
    return n;
  }

  /** Sessions per address with the calls each carries. */
  stats(): { address: string; connections: Http2SessionStats[] }[] {
    return [...this.byAddress.entries()].map(([address, list]) => ({
      address,
      connections: list.map((s) => ({ id: s.id, streams: s.calls, state: s.session.destroyed ? 'SHUTDOWN' : s.connected ? 'READY' : 'CONNECTING' })),
    }));
  }

  /** A session to `address` with a free stream slot (a new one past `maxStreamsPerConnection`). */
  acquire(address: string): Http2Session {
    const cap = this.settings.maxStreamsPerConnection;
    for (const s of this.byAddress.get(address) ?? []) {
      if (!s.session.closed && !s.session.destroyed && s.calls < cap) return s;
    }
    return this.connect(address);
  }

  /** A call started on `entry`: it is busy (no idle close), and pinged while it carries calls. */
  callStarted(entry: Http2Session): void {
    entry.calls++;
    if (entry.idleTimer !== undefined) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
    this.startPings(entry);
  }

  /** A call on `entry` closed. */
  callEnded(entry: Http2Session): void {
    entry.calls--;
    if (entry.calls === 0) this.idle(entry);
  }

  /** Messages of a call wait to be written (`+1`) or no longer do (`-1`): ref the session meanwhile. */
  hold(entry: Http2Session, delta: 1 | -1): void {
    entry.holding += delta;
    if (entry.holding > 0) entry.session.ref();
    else entry.session.unref();
  }

  /** An HTTP/2 PING now; no answer within `timeoutMs` closes the session (its calls fail). */
  probe(entry: Http2Session, timeoutMs: number): void {
    if (entry.probing || !entry.connected || entry.session.destroyed) return;
    entry.probing = true;
    const timer = setTimeout(() => {
      entry.probing = false;
      entry.failure ??= new Error(`no answer to an HTTP/2 ping within ${timeoutMs} ms`);
      this.drop(entry);
    }, timeoutMs);
    timer.unref();
    try {
      entry.session.ping((error) => {
        clearTimeout(timer);
        entry.probing = false;
        if (error !== null) {
          entry.failure ??= error;
          this.drop(entry);
        }
      });
    } catch {
      clearTimeout(timer);
      entry.probing = false;
    }
  }

  /** Stops handing out a session (GOAWAY, flow-control debt): calls on it finish, new calls get another. */
  forget(entry: Http2Session): void {
    const list = this.byAddress.get(entry.address);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byAddress.delete(entry.address);
  }

  /** Closes a session now; its calls fail (with `failure` as the cause when set). */
  drop(entry: Http2Session): void {
    this.forget(entry);
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    if (entry.pingTimer !== undefined) clearInterval(entry.pingTimer);
    if (entry.connectTimer !== undefined) clearTimeout(entry.connectTimer);
    entry.idleTimer = entry.pingTimer = entry.connectTimer = undefined;
    if (!entry.session.destroyed) entry.session.destroy();
  }

  /** Closes every session. */
  close(): void {
    for (const list of [...this.byAddress.values()]) for (const entry of [...list]) this.drop(entry);
  }

  private connect(address: string): Http2Session {
    const tls = this.settings.tls;
    const window = this.windowBytes;
    const settings = window === undefined ? {} : { settings: { initialWindowSize: window } };
    const session =
      tls === undefined
        ? http2.connect(`http://${address}`, settings)
        : http2.connect(`https://${address}`, {
            ...settings,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
          });
    const entry: Http2Session = {
      id: this.nextId(),
      address,
      session,
      tls: tls !== undefined,
      connected: false,
      failure: undefined,
      goawayLastStreamId: undefined,
      onConnected: new Set(),
      calls: 0,
      idleTimer: undefined,
      pingTimer: undefined,
      connectTimer: undefined,
      probing: false,
      holding: 0,
    };
    entry.connectTimer = setTimeout(() => {
      entry.connectTimer = undefined;
      if (entry.connected) return;
      entry.failure = new Error(`no HTTP/2 connection within ${this.connectTimeoutMs} ms`);
      this.drop(entry);
    }, this.connectTimeoutMs);
    entry.connectTimer.unref();
    if (window !== undefined) {
      const connectionWindow = Math.min(2 ** 31 - 1, window * Math.max(1, this.settings.maxStreamsPerConnection));
      session.once('connect', () => {
        try {
          session.setLocalWindowSize(connectionWindow);
        } catch {
          // the session is closing: its calls learn why from it
        }
      });
    }
    session.once('remoteSettings', () => {
      entry.connected = true;
      if (entry.connectTimer !== undefined) clearTimeout(entry.connectTimer);
      entry.connectTimer = undefined;
      for (const start of [...entry.onConnected]) start();
    });
    let list = this.byAddress.get(address);
    if (list === undefined) {
      list = [];
      this.byAddress.set(address, list);
    }
    list.push(entry);
    session.unref();
    // Failures reach the calls through their 'close'; the first error says why.
    session.on('error', (error: Error) => {
      entry.failure ??= error;
      this.drop(entry);
    });
    session.on('goaway', (_code: number, lastStreamID: number) => {
      entry.goawayLastStreamId = lastStreamID;
      this.forget(entry);
    });
    session.on('close', () => this.drop(entry));
    return entry;
  }

  private startPings(entry: Http2Session): void {
    if (entry.pingTimer !== undefined) return;
    const every = this.settings.keepAliveMs;
    const timeoutMs = this.settings.keepAliveTimeoutMs;
    entry.pingTimer = setInterval(() => {
      if (entry.calls === 0) return;
      this.probe(entry, timeoutMs);
    }, every);
    entry.pingTimer.unref();
  }

  private idle(entry: Http2Session): void {
    if (entry.idleTimer !== undefined) return;
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = undefined;
      if (entry.calls === 0) this.drop(entry);
    }, this.idleMs);
    entry.idleTimer.unref();
  }
}

/** Why a session never connected: the socket or TLS error, or the connect timeout. */
export function connectError(entry: Http2Session, rpc = 'PublishAsync'): ConnectionError {
  const address = entry.address;
  const cause = entry.failure;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const codeText = typeof code === 'string' ? `${code}: ` : '';
  const tlsFailure = entry.tls && cause !== undefined && !(typeof code === 'string' && /^E[A-Z]+$/.test(code)) && !/no HTTP\/2 connection/.test(cause.message);
  const what = tlsFailure ? 'TLS handshake failed' : 'could not connect';
  const text = cause === undefined ? 'the connection closed before the HTTP/2 handshake' : `${codeText}${cause.message}`;
  return new ConnectionError(`${rpc} broker=${address}: ${what}: ${text} (nothing was sent)`, {
    rpc,
    address,
    cause,
    grpcCode: 'UNAVAILABLE',
    neverSent: true,
  });
}
