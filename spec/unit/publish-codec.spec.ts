import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PublishRequest, PublishResponse } from '../../src/generated/liftbridge/api.js';
import { decodePublishResponse, encodePublishRequest } from '../../src/publish/publish-codec.js';
import { crc32, crc32c } from '../../src/internal/crc32.js';

const bytes = fc.uint8Array({ maxLength: 300 });
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });

describe('publish codec (hand-written) against the ts-proto code', () => {
  it('encodes PublishRequest to the same bytes, with a 5-byte gRPC frame prefix', () => {
    fc.assert(
      fc.property(
        bytes,
        bytes,
        fc.string(),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.dictionary(fc.string(), bytes, { maxKeys: 4 }),
        fc.string(),
        fc.constantFrom(0, 1, 2),
        fc.oneof(fc.constant(-1n), fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n })),
        (key, value, stream, partition, headers, correlationId, ackPolicy, expectedOffset) => {
          const framed = encodePublishRequest({ key, value, stream, partition, headers: Object.entries(headers), correlationId, ackPolicy, expectedOffset });
          const reference = PublishRequest.encode({ key, value, stream, partition, headers, ackInbox: '', correlationId, ackPolicy, expectedOffset }).finish();
          expect(framed[0]).toBe(0);
          expect(framed.readUInt32BE(1)).toBe(framed.length - 5);
          expect(Buffer.from(framed.subarray(5)).equals(Buffer.from(reference))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes PublishResponse like ts-proto (acks, async errors, correlation ids)', () => {
    fc.assert(
      fc.property(
        fc.option(
          fc.record({
            stream: fc.string(),
            partitionSubject: fc.string(),
            msgSubject: fc.string(),
            offset: int64,
            ackInbox: fc.string(),
            correlationId: fc.string(),
            ackPolicy: fc.constantFrom(0, 1, 2),
            receptionTimestamp: int64,
            commitTimestamp: int64,
            ackError: fc.constantFrom(0, 1, 2, 3, 4),
          }),
          { nil: undefined },
        ),
        fc.option(fc.record({ code: fc.constantFrom(0, 1, 2, 3, 4, 5, 6, 7), message: fc.string() }), { nil: undefined }),
        fc.string(),
        (ack, asyncError, correlationId) => {
          const wire = Buffer.from(PublishResponse.encode({ ack, asyncError, correlationId }).finish());
          const ref = PublishResponse.decode(wire);
          const ours = decodePublishResponse(wire);
          expect(ours.correlationId).toBe(ref.correlationId !== '' ? ref.correlationId : (ref.ack?.correlationId ?? ''));
          expect(ours.errorCode).toBe(ref.asyncError?.code);
          expect(ours.errorMessage).toBe(ref.asyncError?.message ?? '');
          if (ref.ack === undefined) expect(ours.ack).toBeUndefined();
          else {
            const { ackInbox: _ignored, ...rest } = ref.ack;
            expect(ours.ack).toEqual(rest);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('decodes a message inside a larger buffer', () => {
    const wire = Buffer.from(PublishResponse.encode({ correlationId: 'mid', ack: undefined, asyncError: undefined }).finish());
    const framed = Buffer.concat([Buffer.from([9, 9, 9]), wire, Buffer.from([0x1a, 0x01, 0x78])]);
    expect(decodePublishResponse(framed, 3, 3 + wire.length).correlationId).toBe('mid');
  });

  it('skips unknown fields and rejects truncated input', () => {
    // field 15 (varint) and field 16 (bytes) before the correlation id
    const unknown = Buffer.from([0x78, 0x96, 0x01, 0x82, 0x01, 0x02, 0xaa, 0xbb, 0x1a, 0x01, 0x63]);
    expect(decodePublishResponse(unknown).correlationId).toBe('c');
    expect(() => decodePublishResponse(Buffer.from([0x1a, 0x05, 0x61]))).toThrow(RangeError);
  });
});

describe('CRC-32', () => {
  it('matches the standard check values', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32c(check)).toBe(0xe3069283);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});
