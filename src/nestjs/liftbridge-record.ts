/**
 * `LiftbridgeRecord` and the default serializer and deserializer of the NestJS adapter.
 */
import { type Bytes, InvalidArgumentError, type Message } from '../index.js';

/** Per-message publish settings carried by a {@link LiftbridgeRecord}. */
export interface LiftbridgeRecordOptions {
  /** The message key (also what key-based partitioning hashes). */
  key?: Bytes;
  /** Message headers. */
  headers?: Readonly<Record<string, Bytes>>;
  /** The partition to publish to (else the client's partitioner decides). */
  partition?: number;
}

/**
 * Data to emit with a key, headers or a partition: `proxy.emit('orders', new LiftbridgeRecord(order, { key: order.id }))`.
 * The data goes through the proxy's serializer; the options go to `publish()` as they are.
 *
 * @example
 * ```ts
 * await lastValueFrom(proxy.emit('orders', new LiftbridgeRecord({ id: 7 }, { key: 'customer-7', headers: { source: 'web' } })));
 * ```
 */
export class LiftbridgeRecord<T = unknown> {
  constructor(
    readonly data: T,
    readonly options: LiftbridgeRecordOptions = {},
  ) {}
}

/**
 * The serializer a {@link LiftbridgeClientProxy} uses unless told otherwise (`serializer` option):
 * bytes (`Uint8Array`, `Buffer`) and strings pass through, `undefined` becomes an empty value,
 * anything else is `JSON.stringify`ed.
 */
export class LiftbridgeJsonSerializer {
  serialize(value: unknown): Bytes {
    if (value instanceof Uint8Array || typeof value === 'string') return value;
    if (value === undefined) return new Uint8Array(0);
    return JSON.stringify(value);
  }
}

/** The result of a {@link LiftbridgeServer} deserializer: the handler's pattern and payload. */
export interface LiftbridgeIncomingEvent {
  pattern: string;
  data: unknown;
}

/**
 * The deserializer a {@link LiftbridgeServer} uses unless told otherwise (`deserializer` option):
 * a value that is UTF-8 JSON becomes the parsed value, any other value is handed over as its bytes
 * (a `Buffer`); an empty value becomes `undefined`. The pattern is the message's stream.
 */
export class LiftbridgeJsonDeserializer {
  deserialize(message: Message): LiftbridgeIncomingEvent {
    return { pattern: message.stream, data: decodeValue(message.value) };
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeValue(value: Uint8Array): unknown {
  if (value.length === 0) return undefined;
  try {
    return JSON.parse(utf8.decode(value)) as unknown;
  } catch {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
}

/** Checks what a serializer returned. @internal */
export function requireBytes(field: string, value: unknown): Bytes {
  if (value instanceof Uint8Array || typeof value === 'string') return value;
  throw new InvalidArgumentError(field, `expected a string or a Uint8Array, got ${value === null ? 'null' : typeof value}`);
}
