/**
 * Channels per broker address. Unary calls share the least-loaded connection of an
 * address; long-lived streams (Subscribe, PublishAsync) each take a slot, and once every
 * connection of the address holds `maxStreamsPerConnection` streams a new connection is
 * opened. Every channel uses a local subchannel pool, so one channel really is one TCP
 * connection and clients never share connections behind each other's back.
 *
 * Internal (not exported from the package root).
 */
import { ChannelCredentials, connectivityState, type ChannelOptions } from '@grpc/grpc-js';
import { createChannel, type Channel } from 'nice-grpc';
import type { Logger } from '../internal/logger.js';
import { BrokerClient } from './broker-client.js';
import type { TransportSettings } from './settings.js';

export { BrokerClient };
export type { TlsOptions, TransportSettings } from './settings.js';

/** One connection: a channel, its client and the streams it carries. */
interface Connection {
  readonly id: number;
  readonly address: string;
  readonly channel: Channel;
  readonly client: BrokerClient;
  streams: number;
  closed: boolean;
}

/** Connectivity changes of the pool, for the client's `status$`. */
export type ConnectionEvent =
  | { readonly type: 'connecting'; readonly address: string }
  | { readonly type: 'connected'; readonly address: string }
  | { readonly type: 'disconnected'; readonly address: string };

/** A stream slot on a connection; release it when the stream ends. */
export interface StreamLease {
  readonly client: BrokerClient;
  readonly connectionId: number;
  release(): void;
}

export class ConnectionPool {
  private readonly byAddress = new Map<string, Connection[]>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly settings: TransportSettings,
    private readonly logger: Logger,
    private readonly onEvent: (event: ConnectionEvent) => void,
    /** Connection ids (the {@link Wire} shares them with its HTTP/2 sessions). */
    private readonly newId: () => number = () => this.nextId++,
  ) {}

  /** Client for a unary call to `address` (the connection with the fewest streams). */
  unary(address: string): BrokerClient {
    const conns = this.connections(address);
    let best = conns[0];
    for (const c of conns) if (best === undefined || c.streams < best.streams) best = c;
    return (best ?? this.open(address)).client;
  }

  /** Takes a stream slot on a connection to `address`, opening a new connection past the cap. */
  acquireStream(address: string): StreamLease {
    const conns = this.connections(address);
    let conn = conns.find((c) => c.streams < this.settings.maxStreamsPerConnection);
    conn ??= this.open(address);
    conn.streams++;
    let released = false;
    const c = conn;
    return {
      client: c.client,
      connectionId: c.id,
      release: () => {
        if (released) return;
        released = true;
        c.streams--;
      },
    };
  }

  /** Whether some connection to `address` is established (READY). */
  connected(address: string): boolean {
    return (this.byAddress.get(address) ?? []).some((c) => c.channel.getConnectivityState(false) === connectivityState.READY);
  }

  /** Diagnostics: connections per address and the streams each carries. */
  stats(): { address: string; connections: { id: number; streams: number; state: string }[] }[] {
    return [...this.byAddress.entries()].map(([address, conns]) => ({
      address,
      connections: conns.map((c) => ({
        id: c.id,
        streams: c.streams,
        state: connectivityState[c.channel.getConnectivityState(false)] ?? 'UNKNOWN',
      })),
    }));
  }

  /** Closes every channel. In-flight calls on them fail; callers abort theirs first. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const conns of this.byAddress.values()) {
      for (const c of conns) {
        c.closed = true;
        c.channel.close();
      }
    }
    this.byAddress.clear();
  }

  private connections(address: string): Connection[] {
    if (this.closed) throw new Error('Channel has been shut down');
    let conns = this.byAddress.get(address);
    if (conns === undefined) {
      conns = [];
      this.byAddress.set(address, conns);
    }
    if (conns.length === 0) conns.push(this.create(address));
    return conns;
  }

  private open(address: string): Connection {
    const conn = this.create(address);
    this.connections(address).push(conn);
    return conn;
  }

  private create(address: string): Connection {
    const s = this.settings;
    const options: ChannelOptions = {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.keepalive_time_ms': s.keepAliveMs,
      'grpc.keepalive_timeout_ms': s.keepAliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.http2.max_pings_without_data': 0,
      'grpc.initial_reconnect_backoff_ms': s.reconnectBackoffMs.initial,
      'grpc.max_reconnect_backoff_ms': s.reconnectBackoffMs.max,
      'grpc.max_receive_message_length': s.maxReceiveMessageBytes,
      ...(s.tls?.serverName !== undefined ? { 'grpc.ssl_target_name_override': s.tls.serverName } : {}),
      ...s.channelOptions,
      // grpc-js answers a streamed write at once while the message fits its retry buffer (1 MiB
      // per call by default), long before the bytes reach the socket. PublishAsync starts a
      // message's ack deadline on that answer, so the buffer must stay empty: the SDK retries by
      // itself, and a write is then reported only once HTTP/2 took it (not overridable).
      'grpc.per_rpc_retry_buffer_size': 0,
    };
    const credentials =
      s.tls === undefined ? ChannelCredentials.createInsecure() : ChannelCredentials.createSsl(toBuffer(s.tls.ca), toBuffer(s.tls.key), toBuffer(s.tls.cert));
    const channel = createChannel(address, credentials, options);
    const conn: Connection = {
      id: this.newId(),
      address,
      channel,
      client: new BrokerClient(channel),
      streams: 0,
      closed: false,
    };
    this.logger.debug('opened channel', { address, connection: conn.id });
    this.watch(conn, channel.getConnectivityState(false));
    return conn;
  }

  private watch(conn: Connection, from: connectivityState): void {
    if (conn.closed) return;
    try {
      conn.channel.watchConnectivityState(from, Infinity, () => {
        if (conn.closed) return;
        const to = conn.channel.getConnectivityState(false);
        this.report(conn, from, to);
        this.watch(conn, to);
      });
    } catch {
      // The channel was shut down between the check and the call.
    }
  }

  private report(conn: Connection, from: connectivityState, to: connectivityState): void {
    const address = conn.address;
    if (to === connectivityState.CONNECTING && from !== connectivityState.CONNECTING) {
      this.onEvent({ type: 'connecting', address });
    } else if (to === connectivityState.READY) {
      this.onEvent({ type: 'connected', address });
    } else if (from === connectivityState.READY || to === connectivityState.TRANSIENT_FAILURE) {
      if (from !== connectivityState.TRANSIENT_FAILURE) this.onEvent({ type: 'disconnected', address });
    }
  }
}

function toBuffer(value: string | Buffer | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}
