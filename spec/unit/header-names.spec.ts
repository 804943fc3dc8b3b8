/**
 * Header names are arbitrary strings (Go's `map[string][]byte`): `__proto__`, `constructor`,
 * `toString`... must round-trip through every decoder, and must not touch prototypes (issue 8.9).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Message } from '../../src/generated/liftbridge/api.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/publish/envelope.js';
import { decodeMessage } from '../../src/transport/message-decoder.js';
import { decodeWireMessage } from '../../src/transport/wire-message.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const RISKY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype', ''];

/** Header names: risky ones, plus arbitrary well-formed Unicode (protobuf strings are UTF-8). */
const headerName = fc.oneof(fc.constantFrom(...RISKY), fc.string({ unit: 'grapheme', maxLength: 16 }));
const headerEntries = fc.uniqueArray(fc.tuple(headerName, fc.uint8Array({ maxLength: 8 })), { selector: ([k]) => k, maxLength: 6 });

/** A headers object with exactly these own properties (no prototype, so `__proto__` is a plain key). */
function headersOf(entries: ReadonlyArray<readonly [string, Uint8Array]>): Record<string, Uint8Array> {
  const h = Object.create(null) as Record<string, Uint8Array>;
  for (const [k, v] of entries) h[k] = v;
  return h;
}

const asSortedHex = (h: Readonly<Record<string, Uint8Array>>): Array<[string, string]> =>
  Object.entries(h)
    .map(([k, v]): [string, string] => [k, hex(v)])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function expectSafe(h: Readonly<Record<string, Uint8Array>>, entries: ReadonlyArray<readonly [string, Uint8Array]>): void {
  expect(asSortedHex(h)).toEqual(asSortedHex(headersOf(entries)));
  // Nothing inherited: a name that was not sent is not "there".
  for (const name of RISKY) expect(name in h).toBe(entries.some(([k]) => k === name));
}

describe('header names round-trip through the decoders', () => {
  it('the Subscribe decoder keeps a header named __proto__ as a header', () => {
    const bytes = Buffer.from(Message.encode({ ...Message.fromPartial({}), headers: headersOf([['__proto__', new Uint8Array([1])]]) }).finish());
    const m = decodeMessage(bytes);
    expect(Object.keys(m.headers)).toEqual(['__proto__']);
    // biome-ignore lint/suspicious/noProto: the header named __proto__ is what this spec checks
    // biome-ignore lint/complexity/useLiteralKeys: m.headers.__proto__ would read the same key; the string says it is data
    expect(hex(m.headers['__proto__']!)).toBe('01');
  });

  it('the Subscribe decoder: any header names (fast-check)', () => {
    fc.assert(
      fc.property(headerEntries, (entries) => {
        const bytes = Buffer.from(Message.encode({ ...Message.fromPartial({ offset: 1n }), headers: headersOf(entries) }).finish());
        expectSafe(decodeMessage(bytes).headers, entries);
      }),
      { numRuns: 2_000 },
    );
  });

  it('the prototype-safe Message decoder (envelope, browser Subscribe): any header names, and every other field as ts-proto reads it (fast-check)', () => {
    const fields = fc.record({
      offset: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      key: fc.uint8Array({ maxLength: 8 }),
      value: fc.uint8Array({ maxLength: 8 }),
      timestamp: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
      stream: fc.string(),
      partition: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      subject: fc.string(),
      replySubject: fc.string(),
      ackInbox: fc.string(),
      correlationId: fc.string(),
      ackPolicy: fc.constantFrom(0, 1, 2),
    });
    fc.assert(
      fc.property(fields, headerEntries, (f, entries) => {
        const bytes = Message.encode({ ...f, headers: headersOf(entries) }).finish();
        const { headers, ...rest } = decodeWireMessage(bytes);
        expect(rest).toEqual(f);
        expectSafe(headers, entries);
      }),
      { numRuns: 1_000 },
    );
  });

  it('the envelope encoder and decoder keep a header named __proto__', () => {
    const headers = JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>;
    const d = decodeEnvelope(encodeEnvelope({ value: 'v', headers }));
    if (d.type !== 'message') throw new Error('expected a message');
    expect(Object.keys(d.message.headers).sort()).toEqual(['__proto__', 'constructor']);
    // biome-ignore lint/suspicious/noProto: the header named __proto__ is what this spec checks
    // biome-ignore lint/complexity/useLiteralKeys: the string says the key is data
    expect(Buffer.from(d.message.headers['__proto__']!).toString()).toBe('x');
  });

  it('the envelope decoder keeps `__proto__` then `length` (a counterexample fast-check found in CI)', () => {
    // A decoder that assigns into `{}` makes the first header the prototype (a Uint8Array), and the
    // second then hits the prototype's read-only `length`: the whole envelope was rejected.
    const entries: Array<[string, Uint8Array]> = [
      ['__proto__', new Uint8Array(0)],
      ['length', new Uint8Array([7])],
    ];
    const d = decodeEnvelope(encodeEnvelope({ value: 'v', headers: headersOf(entries) }));
    if (d.type !== 'message') throw new Error('expected a message');
    expectSafe(d.message.headers, entries);
  });

  it('the envelope encoder and decoder: any header names (fast-check)', () => {
    fc.assert(
      fc.property(headerEntries, (entries) => {
        const d = decodeEnvelope(encodeEnvelope({ value: 'v', headers: headersOf(entries) }));
        if (d.type !== 'message') throw new Error('expected a message');
        expectSafe(d.message.headers, entries);
      }),
      { numRuns: 2_000 },
    );
  });
});
