import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Message } from '../../src/generated/liftbridge/api.js';
import { decodeMessage } from '../../src/transport/message-decoder.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const norm = (m: Message) => ({
  ...m,
  key: hex(m.key),
  value: hex(m.value),
  headers: Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, hex(v)])),
});

const message = fc.record({
  offset: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  key: fc.uint8Array({ maxLength: 20 }),
  value: fc.uint8Array({ maxLength: 400 }),
  timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.constant(1_763_726_000_000_000_000n)),
  stream: fc.oneof(fc.constantFrom('orders', 's4', ''), fc.string({ maxLength: 30 })),
  partition: fc.integer({ min: -1, max: 2 ** 31 - 1 }),
  subject: fc.oneof(fc.constantFrom('orders', 'orders.2', ''), fc.string({ maxLength: 30 })),
  replySubject: fc.string({ maxLength: 10 }),
  // ts-proto's decoder (the reference here) loses a header named __proto__; ours keeps it
  // (spec/unit/header-names.spec.ts), so that one name is left out of this comparison.
  headers: fc.dictionary(
    fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'),
    fc.uint8Array({ maxLength: 10 }),
    { maxKeys: 4 },
  ),
  ackInbox: fc.string({ maxLength: 10 }),
  correlationId: fc.string({ maxLength: 10 }),
  ackPolicy: fc.integer({ min: 0, max: 2 }),
});

describe('hand-written Subscribe message decoder', () => {
  it('decodes exactly what ts-proto decodes, for any message (unicode, binary, negative and 64-bit values)', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = Buffer.from(Message.encode(m).finish());
        expect(norm(decodeMessage(bytes))).toEqual(norm(Message.decode(bytes)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('decodes repeated stream names and subjects from its cache correctly', () => {
    const a = Buffer.from(Message.encode({ ...Message.fromPartial({ stream: 'alpha', subject: 'alpha.1', offset: 1n }) }).finish());
    const b = Buffer.from(Message.encode({ ...Message.fromPartial({ stream: 'alphb', subject: 'alpha.2', offset: 2n }) }).finish());
    for (let i = 0; i < 3; i++) {
      expect(decodeMessage(a)).toMatchObject({ stream: 'alpha', subject: 'alpha.1', offset: 1n });
      expect(decodeMessage(b)).toMatchObject({ stream: 'alphb', subject: 'alpha.2', offset: 2n });
    }
  });

  it('reads the empty handshake message as all defaults', () => {
    expect(norm(decodeMessage(Buffer.alloc(0)))).toEqual(norm(Message.decode(Buffer.alloc(0))));
  });
});
