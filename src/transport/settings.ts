/**
 * The transport's options and settings as the rest of the SDK (and its public option types) sees
 * them: plain types with no runtime import, so that naming them pulls no connection code, grpc-js
 * internals or generated types into the published declarations.
 *
 * Internal module: its types are re-exported where public.
 */
import type { ChannelOptions } from '@grpc/grpc-js';

/** Which implementation carries PublishAsync calls. */
export type PublishTransportKind = 'http2' | 'grpc-js';

/** Which implementation carries Subscribe calls. */
export type SubscribeTransportKind = 'http2' | 'grpc-js';

/** TLS settings. Server authentication with a CA, optionally mutual TLS with a client certificate. */
export interface TlsOptions {
  /** PEM CA certificate(s) that sign the brokers' certificates; omit to use the system roots. */
  ca?: string | Buffer;
  /** PEM client certificate, for mutual TLS. Requires `key`. */
  cert?: string | Buffer;
  /** PEM private key of the client certificate. Requires `cert`. */
  key?: string | Buffer;
  /** Overrides the name checked against the broker certificate (`grpc.ssl_target_name_override`). */
  serverName?: string;
}

/** Resolved transport settings. */
export interface TransportSettings {
  readonly tls: TlsOptions | undefined;
  readonly keepAliveMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxStreamsPerConnection: number;
  readonly reconnectBackoffMs: { readonly initial: number; readonly max: number };
  readonly maxReceiveMessageBytes: number;
  readonly channelOptions: Readonly<ChannelOptions>;
  /** HTTP/2 receive window of a Subscribe stream on the SDK's HTTP/2 client (unset: its default, 1 MiB). */
  readonly flowControlWindowBytes?: number | undefined;
}
