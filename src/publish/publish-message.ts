/**
 * Validation of one publish input: turns a {@link PublishInput} into bytes and checks every field,
 * naming it in an {@link InvalidArgumentError}, before anything is sent.
 *
 * Internal (not exported from the package root).
 */
import { InvalidArgumentError, MessageTooLargeError } from '../errors/errors.js';
import { describe, requirePartition, requireStreamName } from '../internal/validate.js';
import type { Bytes, PublishInput, PublishMessage } from './types.js';

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const MESSAGE_KEYS = new Set(['value', 'key', 'headers', 'partition', 'correlationId', 'expectedOffset', 'stream']);

/*
 * The per-message objects below are class instances, not object literals: V8 tracks each object
 * literal as an allocation site and may decide (allocation-site pretenuring) that its objects live
 * long, and allocate them in old space from then on. At maxInFlight 1024 it decided so for these
 * three (`--trace-pretenuring-statistics`), so old space filled with dead messages and was collected
 * several times a second (bench/publish/gc.ts, docs/performance.md).
 */

/** A bare value given as an input: the input's `{ value }`. */
class BareInput implements PublishMessage {
  constructor(readonly value: Bytes) {}
}

const NO_HEADERS: ReadonlyArray<readonly [string, Uint8Array]> = Object.freeze([]);

class Prepared implements PreparedMessage {
  constructor(
    readonly input: PublishMessage,
    readonly stream: string | undefined,
    readonly key: Uint8Array,
    readonly value: Uint8Array,
    readonly headers: ReadonlyArray<readonly [string, Uint8Array]>,
    readonly partition: number | undefined,
    readonly correlationId: string | undefined,
    readonly expectedOffset: bigint,
    readonly size: number,
  ) {}
}

/** `msg` with `extra` headers before its own (`extraBytes`: their names and values), as a new prepared message. */
export function withHeaders(msg: PreparedMessage, extra: ReadonlyArray<readonly [string, Uint8Array]>, extraBytes: number): PreparedMessage {
  return new Prepared(
    msg.input,
    msg.stream,
    msg.key,
    msg.value,
    [...extra, ...msg.headers],
    msg.partition,
    msg.correlationId,
    msg.expectedOffset,
    msg.size + extraBytes,
  );
}

/** Encodes a value, key or header value. */
export function toBytes(field: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return encoder.encode(value);
  throw new InvalidArgumentError(field, `expected a Uint8Array or a string, got ${describe(value)}`);
}

/** A validated input. */
export interface PreparedMessage {
  /** The input as given (a bare value becomes `{ value }`). */
  readonly input: PublishMessage;
  readonly stream: string | undefined;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
  readonly partition: number | undefined;
  readonly correlationId: string | undefined;
  readonly expectedOffset: bigint;
  /** key + value + header names and values, in bytes. */
  readonly size: number;
}

/**
 * Validates one input. `field` prefixes field names in errors (`input`, `options`...).
 * @throws {InvalidArgumentError} naming the field; {MessageTooLargeError} above `maxMessageBytes`.
 */
export function prepareMessage(raw: PublishInput, field: string, maxMessageBytes: number): PreparedMessage {
  let input: PublishMessage;
  if (typeof raw === 'string' || raw instanceof Uint8Array) input = new BareInput(raw);
  else if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) input = raw;
  else throw new InvalidArgumentError(field, `expected a message object, a Uint8Array or a string, got ${describe(raw)}`);
  for (const k in input) {
    if (!MESSAGE_KEYS.has(k)) throw new InvalidArgumentError(`${field}.${k}`, `unknown field (known: ${[...MESSAGE_KEYS].join(', ')})`);
  }
  return prepareFields(input, field, maxMessageBytes);
}

/** Validates the fields of a message object (also used for `publish(stream, value, options)`). */
export function prepareFields(input: PublishMessage, field: string, maxMessageBytes: number): PreparedMessage {
  const value = toBytes(`${field}.value`, input.value);
  const key = input.key === undefined ? EMPTY : toBytes(`${field}.key`, input.key);
  let size = value.length + key.length;
  let headers: ReadonlyArray<readonly [string, Uint8Array]> = NO_HEADERS;
  if (input.headers !== undefined) {
    const h = input.headers as unknown;
    if (typeof h !== 'object' || h === null || Array.isArray(h)) {
      throw new InvalidArgumentError(`${field}.headers`, `expected an object of header values, got ${describe(h)}`);
    }
    const list: Array<readonly [string, Uint8Array]> = [];
    headers = list;
    for (const [name, v] of Object.entries(h as Record<string, Bytes>)) {
      const bytes = toBytes(`${field}.headers.${name}`, v);
      list.push([name, bytes]);
      size += name.length + bytes.length;
    }
  }
  const partition = input.partition === undefined ? undefined : requirePartition(`${field}.partition`, input.partition);
  let correlationId: string | undefined;
  if (input.correlationId !== undefined) {
    if (typeof input.correlationId !== 'string' || input.correlationId.length === 0) {
      throw new InvalidArgumentError(`${field}.correlationId`, `expected a non-empty string, got ${describe(input.correlationId)}`);
    }
    correlationId = input.correlationId;
  }
  let expectedOffset = -1n;
  if (input.expectedOffset !== undefined) {
    if (typeof input.expectedOffset !== 'bigint' || input.expectedOffset < -1n || input.expectedOffset >= 2n ** 63n) {
      throw new InvalidArgumentError(`${field}.expectedOffset`, `expected a bigint offset >= 0n (or -1n for no check), got ${describe(input.expectedOffset)}`);
    }
    expectedOffset = input.expectedOffset;
  }
  const stream = input.stream === undefined ? undefined : requireStreamName(`${field}.stream`, input.stream);
  if (size > maxMessageBytes) {
    throw new MessageTooLargeError(
      `${field}: the message has ${size} bytes (key, value and headers), more than maxMessageBytes (${maxMessageBytes}); nothing was sent`,
      { correlationId },
    );
  }
  return new Prepared(input, stream, key, value, headers, partition, correlationId, expectedOffset, size);
}
