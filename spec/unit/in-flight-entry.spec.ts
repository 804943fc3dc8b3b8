/**
 * An entry's framed-size bound (what a new input counts against `maxQueuedBytes` before it is
 * encoded) is never below the size of the request actually sent, whatever the message.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Entry, type EntryOwner } from '../../src/publish/in-flight-entry.js';
import { encodePublishRequest } from '../../src/publish/publish-codec.js';
import type { PreparedMessage } from '../../src/publish/publish-message.js';

const owner = {} as EntryOwner;

describe('Entry.framedSizeBound', () => {
  it('is at least the encoded request size (any key, value, headers, stream, partition, offset, ack policy)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 20 }), fc.uint8Array({ maxLength: 50 })), { maxLength: 5 }),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        fc.bigInt({ min: -1n, max: 2n ** 63n - 1n }),
        fc.constantFrom(0, 1, 2),
        (key, value, headers, stream, correlationId, partition, expectedOffset, ackPolicy) => {
          // `size` as prepareMessage counts it (header names in UTF-16 units): the bound must not rely on it.
          const size = key.length + value.length + headers.reduce((n, [k, v]) => n + k.length + v.length, 0);
          const msg = { key, value, headers, size, expectedOffset } as unknown as PreparedMessage;
          const e = new Entry(owner);
          e.msg = msg;
          e.stream = stream;
          e.correlationId = correlationId;
          const framed = encodePublishRequest({ key, value, stream, partition, headers, correlationId, ackPolicy, expectedOffset });
          expect(e.framedSizeBound()).toBeGreaterThanOrEqual(framed.length);
        },
      ),
      { numRuns: 500 },
    );
  });
});
