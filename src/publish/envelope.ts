/**
 * The Liftbridge envelope: how messages and acks travel on NATS. Use it to publish to a stream's
 * subject with a plain NATS client (key, headers, ack inbox and all), and to read the acks Liftbridge
 * sends to an ack inbox.
 *
 * Layout: bytes 0-3 magic `B9 0E 43 B4`; 4 version (0); 5 header length (8, or 12 with a CRC);
 * 6 flags (bit 0: CRC-32C present); 7 type (0 = message, 1 = ack); 8-11 optional CRC-32C
 * (Castagnoli) of the payload, big-endian; then the protobuf payload (`Message` or `Ack`).
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Ack as WireAck, AckPolicy as WireAckPolicy } from '../generated/liftbridge/api.js';
import { decodeWireMessage } from '../transport/wire-message.js';
import { InvalidArgumentError, type LiftbridgeError } from '../errors/errors.js';
import { mapAckError } from '../errors/map-error.js';
import { describe, requireBoolean, requireObject, rejectUnknownKeys } from '../internal/validate.js';
import { crc32c } from '../internal/crc32.js';
import { toBytes } from './publish-message.js';
import { ackOf, partitionOfSubjects } from './to-ack.js';
import type { Ack, AckData, AckPolicy, Bytes } from './types.js';

/** The envelope's magic number. */
export const ENVELOPE_MAGIC: readonly number[] = Object.freeze([0xb9, 0x0e, 0x43, 0xb4]);
const VERSION = 0;
const FLAG_CRC = 0x01;
const TYPE_MESSAGE = 0;
const TYPE_ACK = 1;

/** A message to put in an envelope (what a NATS publisher sends to a stream's subject). */
export interface EnvelopeMessage {
  readonly value: Bytes;
  readonly key?: Bytes;
  readonly headers?: Readonly<Record<string, Bytes>>;
  /** NATS subject Liftbridge sends the ack to (enveloped). No inbox, no ack. */
  readonly ackInbox?: string;
  readonly correlationId?: string;
  /** @defaultValue 'leader' */
  readonly ackPolicy?: AckPolicy;
  /** Optimistic concurrency: the offset the message must get. @defaultValue -1n (no check) */
  readonly expectedOffset?: bigint;
}

/** Options of {@link encodeEnvelope}. */
export interface EnvelopeOptions {
  /** Add a CRC-32C of the payload, checked by the server. @defaultValue false */
  readonly crc?: boolean;
}

/** A decoded message envelope. */
export interface EnvelopedMessage {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Headers in an object without a prototype: any name (`__proto__` too) is an own property. */
  readonly headers: Readonly<Record<string, Uint8Array>>;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: AckPolicy;
  /** The expected offset (-1n = no check). */
  readonly expectedOffset: bigint;
}

/** What {@link decodeEnvelope} found. */
export type DecodedEnvelope =
  | { readonly type: 'message'; readonly message: EnvelopedMessage }
  /** `error`: the ack reports a failure (incorrect expected offset, message too large, encryption). */
  | { readonly type: 'ack'; readonly ack: Ack; readonly error: LiftbridgeError | undefined };

const KEYS = ['value', 'key', 'headers', 'ackInbox', 'correlationId', 'ackPolicy', 'expectedOffset'] as const;
const POLICY: Readonly<Record<AckPolicy, WireAckPolicy>> = { leader: WireAckPolicy.LEADER, all: WireAckPolicy.ALL, none: WireAckPolicy.NONE };

/**
 * Envelopes a message for a raw NATS publish to a stream's subject (`<subject>` for partition 0,
 * `<subject>.<n>` for partition n). The bytes are those go-liftbridge's `NewMessage` builds for the
 * same message (with one header; Go orders several headers randomly): in particular every header
 * entry carries its value field, also when the value is empty, which Liftbridge main (50ac358)
 * needs to not crash (docs/testing.md).
 * @throws {InvalidArgumentError} for an invalid field (named).
 */
export function encodeEnvelope(message: EnvelopeMessage, options: EnvelopeOptions = {}): Uint8Array {
  const m = requireObject('message', message);
  rejectUnknownKeys('message', m, KEYS);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, ['crc']);
  const crc = o.crc === undefined ? false : requireBoolean('options.crc', o.crc);
  // No prototype: a header named `__proto__` is a header like any other.
  const headers = Object.create(null) as Record<string, Uint8Array>;
  if (message.headers !== undefined) {
    for (const [k, v] of Object.entries(requireObject('message.headers', message.headers))) headers[k] = toBytes(`message.headers.${k}`, v);
  }
  const policy = message.ackPolicy ?? 'leader';
  if (!(policy in POLICY)) throw new InvalidArgumentError('message.ackPolicy', `expected 'leader', 'all' or 'none', got ${describe(policy)}`);
  for (const f of ['ackInbox', 'correlationId'] as const) {
    if (message[f] !== undefined && typeof message[f] !== 'string')
      throw new InvalidArgumentError(`message.${f}`, `expected a string, got ${describe(message[f])}`);
  }
  const expected = message.expectedOffset ?? -1n;
  if (typeof expected !== 'bigint' || expected < -1n) {
    throw new InvalidArgumentError('message.expectedOffset', `expected a bigint >= 0n (or -1n), got ${describe(expected)}`);
  }
  const payload = encodeMessagePayload({
    expectedOffset: expected,
    key: message.key === undefined ? new Uint8Array(0) : toBytes('message.key', message.key),
    value: toBytes('message.value', message.value),
    headers,
    ackInbox: message.ackInbox ?? '',
    correlationId: message.correlationId ?? '',
    ackPolicy: POLICY[policy],
  });
  return frame(payload, TYPE_MESSAGE, crc);
}

/**
 * The `Message` protobuf of a client envelope, written field by field in field-number order the way
 * go-liftbridge's `NewMessage` (Go's protobuf marshaller) writes it. The one thing a generic proto3
 * encoder does differently is in the header map entries: Go always writes both the key (1) and the
 * value (2) field of an entry, a proto3 encoder may leave an empty value out. Both are valid
 * protobuf, but the unreleased Liftbridge main (v26.01.1, 50ac358) stores a left-out value as a nil
 * slice and its subscribe path then crashes the whole broker on that message (docs/testing.md), so
 * the value field is always written.
 */
function encodeMessagePayload(m: {
  readonly expectedOffset: bigint;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, Uint8Array>>;
  readonly ackInbox: string;
  readonly correlationId: string;
  readonly ackPolicy: WireAckPolicy;
}): Uint8Array {
  const w = new BinaryWriter();
  if (m.expectedOffset !== 0n) w.uint32((1 << 3) | 0).int64(m.expectedOffset); // offset
  if (m.key.length > 0) w.uint32((2 << 3) | 2).bytes(m.key);
  if (m.value.length > 0) w.uint32((3 << 3) | 2).bytes(m.value);
  // 4 timestamp, 5 stream, 6 partition, 7 subject, 8 replySubject: set by the server, never sent.
  for (const name of Object.keys(m.headers)) {
    w.uint32((9 << 3) | 2).fork();
    w.uint32((1 << 3) | 2).string(name);
    w.uint32((2 << 3) | 2).bytes(m.headers[name] as Uint8Array);
    w.join();
  }
  if (m.ackInbox !== '') w.uint32((10 << 3) | 2).string(m.ackInbox);
  if (m.correlationId !== '') w.uint32((11 << 3) | 2).string(m.correlationId);
  if (m.ackPolicy !== 0) w.uint32((12 << 3) | 0).int32(m.ackPolicy);
  return w.finish();
}

/** Envelopes an Ack (what Liftbridge sends to an ack inbox); for tests and bridges. */
export function encodeAckEnvelope(ack: AckData, options: EnvelopeOptions = {}): Uint8Array {
  const payload = WireAck.encode({
    stream: ack.stream,
    partitionSubject: ack.partitionSubject,
    msgSubject: ack.msgSubject,
    offset: ack.offset,
    ackInbox: '',
    correlationId: ack.correlationId,
    ackPolicy: ack.ackPolicy === 'all' ? WireAckPolicy.ALL : WireAckPolicy.LEADER,
    receptionTimestamp: ack.receptionTimestampNs,
    commitTimestamp: ack.commitTimestampNs,
    ackError: 0,
  }).finish();
  return frame(payload, TYPE_ACK, options.crc === true);
}

function frame(payload: Uint8Array, type: number, crc: boolean): Uint8Array {
  const headerLength = crc ? 12 : 8;
  const out = new Uint8Array(headerLength + payload.length);
  out.set(ENVELOPE_MAGIC, 0);
  out[4] = VERSION;
  out[5] = headerLength;
  out[6] = crc ? FLAG_CRC : 0;
  out[7] = type;
  if (crc) new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(8, crc32c(payload), false);
  out.set(payload, headerLength);
  return out;
}

/** Whether `bytes` start with the envelope magic number. */
export function isEnvelope(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && ENVELOPE_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Decodes an envelope: a message (type 0) or an ack (type 1).
 * @throws {InvalidArgumentError} (`field` = `envelope`) when it is not a valid envelope: bad
 * magic, version, header length, type or CRC, or an undecodable payload.
 */
export function decodeEnvelope(bytes: Uint8Array): DecodedEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('envelope', `expected a Uint8Array, got ${describe(bytes)}`);
  if (!isEnvelope(bytes)) throw new InvalidArgumentError('envelope', 'not a Liftbridge envelope (bad magic number or too short)');
  if (bytes[4] !== VERSION) throw new InvalidArgumentError('envelope', `unsupported envelope version ${bytes[4]}`);
  const headerLength = bytes[5] as number;
  const flags = bytes[6] as number;
  const type = bytes[7] as number;
  const hasCrc = (flags & FLAG_CRC) !== 0;
  if (headerLength < (hasCrc ? 12 : 8) || headerLength > bytes.length) {
    throw new InvalidArgumentError('envelope', `invalid header length ${headerLength}`);
  }
  const payload = bytes.subarray(headerLength);
  if (hasCrc) {
    const expected = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, false);
    const actual = crc32c(payload);
    if (expected !== actual) throw new InvalidArgumentError('envelope', `CRC-32C mismatch (header ${expected}, payload ${actual})`);
  }
  try {
    if (type === TYPE_MESSAGE) {
      const m = decodeWireMessage(payload);
      return {
        type: 'message',
        message: {
          key: m.key,
          value: m.value,
          headers: m.headers,
          ackInbox: m.ackInbox,
          correlationId: m.correlationId,
          ackPolicy: m.ackPolicy === WireAckPolicy.ALL ? 'all' : m.ackPolicy === WireAckPolicy.NONE ? 'none' : 'leader',
          expectedOffset: m.offset,
        },
      };
    }
    if (type === TYPE_ACK) {
      const a = WireAck.decode(payload);
      return {
        type: 'ack',
        ack: ackOf({
          stream: a.stream,
          partition: partitionOfSubjects(a.partitionSubject, a.msgSubject),
          offset: a.offset,
          partitionSubject: a.partitionSubject,
          msgSubject: a.msgSubject,
          correlationId: a.correlationId,
          ackPolicy: a.ackPolicy === WireAckPolicy.ALL ? 'all' : 'leader',
          receptionTimestampNs: a.receptionTimestamp,
          commitTimestampNs: a.commitTimestamp,
        }),
        error: mapAckError(a.ackError, { rpc: 'Ack', stream: a.stream, correlationId: a.correlationId }),
      };
    }
  } catch (error) {
    throw new InvalidArgumentError('envelope', `undecodable payload: ${error instanceof Error ? error.message : String(error)}`);
  }
  throw new InvalidArgumentError('envelope', `envelope type ${type} is internal to Liftbridge (clients use 0 = message, 1 = ack)`);
}
