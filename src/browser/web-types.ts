/**
 * The web client's public option, status and stats types with their defaults, and what its call
 * helpers (web-publish.ts, web-partition-stream.ts) need from the client.
 */
import type { Transport } from 'nice-grpc-web/lib/client/Transport.js';
import type { LiftbridgeError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import type { Bytes } from '../publish/types.js';
import type { WebWire } from './web-wire.js';

/** Options of {@link connectWeb}. */
export interface WebClientOptions {
  /** URL of the gRPC-web proxy in front of the broker, e.g. `https://liftbridge.example.com` or `http://localhost:8080`. */
  readonly url: string;
  /** Deadline of each unary call (metadata, admin, Publish), in ms. @defaultValue 10000 */
  readonly callTimeoutMs?: number;
  /** Unary Publish calls in flight at once (gRPC-web has no PublishAsync). @defaultValue 16 */
  readonly maxPublishInFlight?: number;
  /** Publishes waiting for an in-flight slot before `publish` fails with BufferOverflowError. @defaultValue 1024 */
  readonly maxQueuedPublishes?: number;
  /** How often `metadata$` refreshes while subscribed, in ms. @defaultValue 30000 */
  readonly metadataRefreshMs?: number;
  /** A nice-grpc-web transport (default: its `fetch` transport). */
  readonly transport?: Transport;
  /** Where the client logs (user callbacks that throw, for instance). @defaultValue silent */
  readonly logger?: Logger;
}

/** Options of the web client's `publish`. */
export interface WebPublishOptions {
  readonly key?: Bytes;
  readonly headers?: Readonly<Record<string, Bytes>>;
  /** Target partition. @defaultValue 0 */
  readonly partition?: number;
  readonly correlationId?: string;
  readonly expectedOffset?: bigint;
  /** `'leader'` (default), `'all'`, or `'none'` (emits a {@link Sent}). */
  readonly ackPolicy?: 'leader' | 'all' | 'none';
}

/** Options of the web client's `publishTo`. */
export interface WebPublishToOptions {
  /** @defaultValue 'leader' */
  readonly ackPolicy?: 'leader' | 'all';
}

/** Events of the web client's `status$`. */
export type WebClientStatus =
  | { readonly type: 'connecting'; readonly url: string }
  | { readonly type: 'connected'; readonly url: string }
  | { readonly type: 'disconnected'; readonly url: string; readonly error: LiftbridgeError }
  | { readonly type: 'closed'; readonly url: string };

/** One live partition subscription in {@link LiftbridgeWebClient.stats}. */
export interface WebSubscriptionStats {
  readonly stream: string;
  readonly partition: number;
  readonly prefetch: number;
  /** Messages read from the response body (the handshake not counted). */
  readonly read: number;
  /** Delivered messages the settled prefix has not passed (bounded by `prefetch`). */
  readonly unsettled: number;
  readonly maxUnsettled: number;
  /** Whether reading waits for settlement (the window is full). */
  readonly paused: boolean;
}

/** What {@link LiftbridgeWebClient.stats} returns. */
export interface WebClientStats {
  readonly publish: { readonly inFlight: number; readonly queued: number };
  readonly subscriptions: WebSubscriptionStats[];
}

/** The defaults of {@link WebClientOptions}. */
export const DEFAULT_WEB_CLIENT_OPTIONS = Object.freeze({
  callTimeoutMs: 10_000,
  maxPublishInFlight: 16,
  maxQueuedPublishes: 1024,
  metadataRefreshMs: 30_000,
});

/** @internal */
export const OPTION_KEYS = ['url', 'callTimeoutMs', 'maxPublishInFlight', 'maxQueuedPublishes', 'metadataRefreshMs', 'transport', 'logger'] as const;
/** @internal */
export const PUBLISH_KEYS = ['key', 'headers', 'partition', 'correlationId', 'expectedOffset', 'ackPolicy'] as const;
/** @internal The broker's default message size limit. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** What a call of the web client needs from it: the wire, the proxy URL, and where status goes. @internal */
export interface WebCallHost {
  readonly wire: WebWire;
  readonly url: string;
  report(status: WebClientStatus): void;
  /** Live partition reads, for `stats()`: each adds itself and removes itself when it ends. */
  readonly subscriptions: Set<{ stats(): WebSubscriptionStats }>;
}
