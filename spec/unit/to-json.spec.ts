/**
 * `JSON.stringify` works on what the SDK hands out: received messages (bigint offsets and
 * timestamps, binary key/value/headers) and errors (message, name, code and typed fields).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors/errors.js';
import { ConnectionError, InvalidArgumentError, LiftbridgeError, NoSuchStreamError } from '../../src/errors/errors.js';
import { Message as WireMessage } from '../../src/generated/liftbridge/api.js';
import { decodeMessage } from '../../src/transport/message-decoder.js';
import { OffsetLedger } from '../../src/subscribe/offset-ledger.js';
import { ReceivedMessage } from '../../src/subscribe/received-message.js';

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function received(partial: Partial<WireMessage>, headers: Record<string, Uint8Array> = {}): ReceivedMessage {
  const h = Object.create(null) as Record<string, Uint8Array>;
  Object.assign(h, headers);
  const bytes = Buffer.from(WireMessage.encode({ ...WireMessage.fromPartial(partial), headers: h }).finish());
  const wire = decodeMessage(bytes);
  const ledger = new OffsetLedger(wire.stream, wire.partition, 8);
  return new ReceivedMessage(wire, ledger, ledger.deliver(wire.offset));
}

describe('received messages', () => {
  it('JSON.stringify gives offsets and timestamps as decimal strings and bytes as base64', () => {
    const m = received(
      {
        stream: 'orders',
        partition: 3,
        offset: 2n ** 62n,
        timestamp: 1_763_726_000_123_456_789n,
        key: Buffer.from('k'),
        value: new Uint8Array([0, 255]),
        subject: 'orders.3',
      },
      JSON.parse('{"__proto__":"AQ==","subject":"b3JkZXJzLjM="}', (k, v: unknown) => (k === '' ? v : Buffer.from(v as string, 'base64'))) as Record<
        string,
        Uint8Array
      >,
    );
    const json = JSON.parse(JSON.stringify(m)) as Record<string, unknown>;
    expect(json).toEqual({
      stream: 'orders',
      partition: 3,
      offset: String(2n ** 62n),
      timestampNs: '1763726000123456789',
      timestamp: '2025-11-21T11:53:20.123Z',
      key: b64(Buffer.from('k')),
      value: 'AP8=',
      headers: JSON.parse('{"__proto__":"AQ==","subject":"b3JkZXJzLjM="}') as unknown,
      subject: 'orders.3',
      replySubject: '',
    });
    expect(Object.keys(json.headers as object).sort()).toEqual(['__proto__', 'subject']);
  });

  it('any message serializes, and the JSON gives back its exact values (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }),
        fc.uint8Array({ maxLength: 40 }),
        fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), { maxKeys: 4 }),
        (offset, timestamp, value, headers) => {
          const m = received({ offset, timestamp, value }, headers);
          const json = JSON.parse(JSON.stringify(m)) as { offset: string; timestampNs: string; value: string; headers: Record<string, string> };
          expect(BigInt(json.offset)).toBe(offset);
          expect(BigInt(json.timestampNs)).toBe(timestamp);
          expect(json.value).toBe(b64(value));
          expect(Object.entries(json.headers).sort()).toEqual(
            Object.entries(headers)
              .map(([k, v]) => [k, b64(v)])
              .sort(),
          );
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('errors', () => {
  it('JSON includes message, name, code, retriable and the typed fields', () => {
    const e = new InvalidArgumentError('options.partition', 'expected an integer, got -1', { rpc: 'Subscribe' });
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      name: 'InvalidArgumentError',
      code: 'INVALID_ARGUMENT',
      message: 'Invalid options.partition: expected an integer, got -1',
      retriable: false,
      field: 'options.partition',
      rpc: 'Subscribe',
    });
    const c = new ConnectionError('no broker', { address: '127.0.0.1:1', grpcCode: 'UNAVAILABLE', neverSent: true, cause: new Error('ECONNREFUSED') });
    expect(JSON.parse(JSON.stringify(c))).toEqual({
      name: 'ConnectionError',
      code: 'CONNECTION',
      message: 'no broker',
      retriable: true,
      address: '127.0.0.1:1',
      grpcCode: 'UNAVAILABLE',
      neverSent: true,
      cause: { name: 'Error', message: 'ECONNREFUSED' },
    });
  });

  it('a LiftbridgeError cause is serialized the same way; cycles and bigint fields do not throw', () => {
    const inner = new NoSuchStreamError('No such stream: s', { rpc: 'FetchMetadata' });
    const outer = new ConnectionError('gave up', { cause: inner });
    expect((JSON.parse(JSON.stringify(outer)) as { cause: unknown }).cause).toEqual({
      name: 'NoSuchStreamError',
      code: 'NO_SUCH_STREAM',
      message: 'No such stream: s',
      retriable: false,
      rpc: 'FetchMetadata',
    });
    const cyclic = new ConnectionError('loop') as ConnectionError & { cause: unknown };
    Object.defineProperty(cyclic, 'cause', { value: cyclic });
    expect(() => JSON.stringify(cyclic)).not.toThrow();
    const withBigint = Object.assign(new ConnectionError('x'), { offset: 5n });
    expect((JSON.parse(JSON.stringify(withBigint)) as { offset: unknown }).offset).toBe('5');
  });

  it('every exported error class serializes with its code', () => {
    for (const [name, Ctor] of Object.entries(errors)) {
      if (typeof Ctor !== 'function' || Ctor === LiftbridgeError || !(Ctor.prototype instanceof LiftbridgeError)) continue;
      const e =
        name === 'InvalidArgumentError'
          ? new InvalidArgumentError('f', 'bad')
          : new (Ctor as unknown as new (m: string, r: boolean) => LiftbridgeError)('boom', false);
      const json = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
      expect(json.name, name).toBe(name);
      expect(json.code, name).toBe(e.code);
      expect(json.message, name).toBe(e.message);
    }
  });
});
