/**
 * Public types of publishing.
 */

/** Who must have stored a message before it is acknowledged. */
export type AckPolicy = 'leader' | 'all';

/** The broker's acknowledgement of one stored message. */
export interface Ack {
  readonly stream: string;
  readonly partition: number;
  /** Offset the message was stored at. */
  readonly offset: bigint;
  /** The stream's base subject. */
  readonly partitionSubject: string;
  /** The subject the message was published on (`<subject>.<partition>` for partitions > 0). */
  readonly msgSubject: string;
  readonly correlationId: string;
  readonly ackPolicy: AckPolicy;
  /** When the leader received the message (Unix ns). */
  readonly receptionTimestampNs: bigint;
  /** When the message was committed (Unix ns). */
  readonly commitTimestampNs: bigint;
}

/** A value, key or header value: bytes, or a string (encoded as UTF-8). */
export type Bytes = Uint8Array | string;

/** Options of `publish`. */
export interface PublishOptions {
  /** Message key (drives compaction and key partitioning). */
  key?: Bytes;
  /** Message headers. The server adds `subject` and `reply` headers on storage. */
  headers?: Readonly<Record<string, Bytes>>;
  /** Target partition. @defaultValue 0 */
  partition?: number;
  /** @defaultValue 'leader' */
  ackPolicy?: AckPolicy;
  /** How long to wait for the ack, in ms (sent as the call's deadline). @defaultValue 5000 */
  ackWaitMs?: number;
  /** Correlation id echoed in the ack. @defaultValue a random UUID */
  correlationId?: string;
  /** Optimistic concurrency: the offset the message must get. Sent as -1 when unset. */
  expectedOffset?: bigint;
}
