/**
 * One input on its way through a publish pipeline: the entry of its in-flight table.
 *
 * States: `ROUTING` (taken, not yet sent) -> `SENT` (a copy is queued in the transport or on the
 * wire, waiting for its response; `queuedBytes > 0` while the copy is still queued locally, the
 * ack deadline runs from when it reached the socket, `deadlineGen === gen`) -> `DONE` (acked or
 * failed), with `RETRY` (waiting for a resend round, a metadata refresh or a not-found verdict)
 * between sends. Resend rules: a copy is only resent from `RETRY`, never while `SENT`; every send
 * bumps `gen`, so a late deadline or response of an older copy is told apart.
 *
 * Internal (not exported from the package root).
 */
import { InvalidArgumentError, type LiftbridgeError } from '../errors/errors.js';
import { nextCorrelationId } from './correlation-id.js';
import { type DecodedResponse, encodePublishRequest } from './publish-codec.js';
import type { Lane, LaneEntry } from './publish-lanes.js';
import { type PreparedMessage, prepareMessage } from './publish-message.js';
import type { Ack, PublishInput, PublishMessage, Sent } from './types.js';

/** The input of an entry before `prepare()` (shared: an object literal per entry is an allocation site V8 may pretenure). */
const NO_INPUT: PublishMessage = Object.freeze({ value: '' });

export const ROUTING = 0;
export const SENT = 1;
export const RETRY = 2;
export const DONE = 3;

/** Where an entry reports what the lanes tell it (the pipeline). */
export interface EntryOwner {
  onResponse(e: Entry, response: DecodedResponse, address: string): void;
  onWritten(e: Entry, address: string): void;
  onLaneBroken(e: Entry, error: LiftbridgeError, address: string): void;
}

/** One input on its way. */
export class Entry implements LaneEntry {
  seq = 0;
  input: PublishMessage = NO_INPUT;
  msg: PreparedMessage | undefined;
  stream = '';
  partition = -1;
  correlationId = '';
  bytes: Buffer | undefined;
  lane: Lane | undefined;
  address: string | undefined;
  fireAndForget = false;
  state = ROUTING;
  /** Send generation: bumped on every send, so that an old deadline or response can be told apart. */
  gen = 0;
  sentOnce = false;
  /** Bytes of its latest copy still queued locally (not yet handed to the socket). */
  queuedBytes = 0;
  /** The send generation whose ack deadline runs (it starts when the bytes reach the socket). */
  deadlineGen = 0;
  /** Some copy may have reached a broker (a call broke after it was sent, or its ack timed out). */
  mayHaveLeft = false;
  startedAt = 0;
  failures = 0;
  /** Waiting for a metadata refresh before it can be routed. */
  needsFresh = false;
  ok = false;
  value: Ack | Sent | undefined;
  error: LiftbridgeError | undefined;

  constructor(private readonly pipeline: EntryOwner) {}

  /**
   * Validates the input and fills in what it says (message, correlation id, stream). Returns the
   * error it settles with when it is invalid; it still gets that outcome under the correlation id
   * it gave, if any (also an input whose getters throw).
   */
  prepare(raw: PublishInput, maxMessageBytes: number, defaultStream: string | undefined): unknown {
    let msg: PreparedMessage;
    try {
      msg = prepareMessage(raw, 'input', maxMessageBytes);
    } catch (error) {
      this.input = typeof raw === 'object' && raw !== null && !(raw instanceof Uint8Array) ? raw : { value: raw as never };
      let given: unknown;
      try {
        given = (this.input as { correlationId?: unknown }).correlationId;
      } catch {
        // an input whose getters throw: it still gets its outcome (the error above)
      }
      this.correlationId = typeof given === 'string' ? given : '';
      return error;
    }
    this.msg = msg;
    this.input = msg.input;
    this.correlationId = msg.correlationId ?? nextCorrelationId();
    const stream = msg.stream ?? defaultStream;
    if (stream === undefined) return new InvalidArgumentError('input.stream', 'no stream: give each input a stream or set options.stream');
    this.stream = stream;
    return undefined;
  }

  /**
   * An upper bound of its framed request's size, before the partition is known: what it counts
   * against `maxQueuedBytes` until its first copy is encoded (then the exact size counts). Never
   * below the real size, so that inputs taken before encoding cannot overshoot the bound.
   */
  framedSizeBound(): number {
    const msg = this.msg as PreparedMessage;
    // 5-byte frame prefix; tags and length varints of key, value, stream and correlationId (6
    // each); partition, ackPolicy and expectedOffset varints (11 each); 18 per header entry.
    let bound = 5 + 4 * 6 + 3 * 11 + msg.key.length + msg.value.length + Buffer.byteLength(this.stream) + Buffer.byteLength(this.correlationId);
    for (const [name, value] of msg.headers) bound += 18 + Buffer.byteLength(name) + value.length;
    return bound;
  }

  /** Its framed PublishAsync request, encoded once (the partition is known by now) and reused by resends. */
  encoded(wireAckPolicy: number): Buffer {
    const msg = this.msg as PreparedMessage;
    this.bytes ??= encodePublishRequest({
      key: msg.key,
      value: msg.value,
      stream: this.stream,
      partition: this.partition,
      headers: msg.headers,
      correlationId: this.correlationId,
      ackPolicy: wireAckPolicy,
      expectedOffset: msg.expectedOffset,
    });
    return this.bytes;
  }

  isWaiting(generation: number): boolean {
    return this.state === SENT && this.gen === generation;
  }

  onResponse(response: DecodedResponse, address: string): void {
    this.pipeline.onResponse(this, response, address);
  }

  onWritten(address: string): void {
    this.pipeline.onWritten(this, address);
  }

  onLaneBroken(error: LiftbridgeError, address: string): void {
    this.pipeline.onLaneBroken(this, error, address);
  }
}
