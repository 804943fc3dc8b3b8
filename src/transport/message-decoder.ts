/**
 * A hand-written decoder for the Subscribe hot path's `Message` (about 0.4 µs per message
 * instead of ts-proto's 1.4; see bench/subscribe/RESULTS.md). Same output as the generated
 * `Message.decode` (src/generated/liftbridge/api.ts); spec/unit/message-decoder.spec.ts checks
 * that the two agree on random messages.
 *
 * Internal (not exported from the package root).
 *
 * What it does differently from ts-proto + @bufbuild/protobuf's BinaryReader:
 * - no BinaryReader/DataView per message; varints read inline from the Buffer;
 * - one shared empty Uint8Array for absent bytes fields (ts-proto allocates two
 *   `new Uint8Array(0)` per Message and one per header entry: ~0.9 µs/msg in the profile);
 * - bytes fields as plain Uint8Array views (`new Uint8Array(buf.buffer, off, len)`), not
 *   Buffer#subarray (species lookup + FastBuffer construction);
 * - the strings Liftbridge repeats in every message (stream, subject, header names) are
 *   decoded once and reused while their bytes are unchanged;
 * - int64 to bigint with one BigInt() when the value fits in 53 bits.
 */
import type { Message as WireMessage } from '../generated/liftbridge/api.js';

const EMPTY = new Uint8Array(0);

/**
 * Reuses decoded strings while the same bytes come again: a few recent entries (one per
 * partition subject of a merged subscription, say), checked newest first.
 */
class StringCache {
  private readonly bytes: Uint8Array[] = [];
  private readonly values: string[] = [];
  private next = 0;

  constructor(private readonly size = 8) {}

  get(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    if (len === 0) return '';
    for (let e = 0; e < this.bytes.length; e++) {
      const b = this.bytes[e]!;
      if (b.length !== len) continue;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (b[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.values[e]!;
    }
    const value = buf.toString('utf8', start, end);
    if (len <= 256) {
      // A small copy, not a view that would pin the whole frame.
      this.bytes[this.next] = Uint8Array.from(buf.subarray(start, end));
      this.values[this.next] = value;
      this.next = (this.next + 1) % this.size;
    }
    return value;
  }
}

const streamCache = new StringCache();
const subjectCache = new StringCache();
const replyCache = new StringCache();
const headerKeyCache = new StringCache();

let pos = 0;

function varint32(buf: Buffer): number {
  let b = buf[pos++]!;
  let result = b & 0x7f;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x7f) << 7;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x7f) << 14;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x7f) << 21;
  if (b < 0x80) return result;
  b = buf[pos++]!;
  result |= (b & 0x0f) << 28;
  // Negative int32s are sign-extended to 10 bytes: skip the rest.
  while (b >= 0x80) b = buf[pos++]!;
  return result >>> 0;
}

function varint64(buf: Buffer): bigint {
  // Up to 7 bytes (49 bits) exactly in a double: one BigInt() (offsets).
  let value = 0;
  let factor = 1;
  let b: number;
  for (let i = 0; i < 7; i++) {
    b = buf[pos++]!;
    value += (b & 0x7f) * factor;
    if (b < 0x80) return BigInt(value);
    factor *= 128;
  }
  // Bits 49..63 (timestamps in ns need 61).
  let high = 0;
  let hf = 1;
  do {
    b = buf[pos++]!;
    high += (b & 0x7f) * hf;
    hf *= 128;
  } while (b >= 0x80);
  const v = (BigInt(high) << 49n) | BigInt(value);
  return high >= 2 ** 14 ? BigInt.asIntN(64, v) : v;
}

function view(buf: Buffer, start: number, len: number): Uint8Array {
  return len === 0 ? EMPTY : new Uint8Array(buf.buffer, buf.byteOffset + start, len);
}

function skip(buf: Buffer, wireType: number): void {
  switch (wireType) {
    case 0:
      while (buf[pos++]! >= 0x80);
      break;
    case 1:
      pos += 8;
      break;
    case 2: {
      const len = varint32(buf);
      pos += len;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new Error(`unsupported wire type ${wireType}`);
  }
}

export function decodeMessage(input: Uint8Array): WireMessage {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  pos = 0;
  const end = buf.length;
  // Its own literal, not a factory shared with wire-message.ts: calling one made this decoder about
  // 40% slower (600-730 against 423-455 ns per 256-byte message, measured on this machine).
  const m: WireMessage = {
    offset: 0n,
    key: EMPTY,
    value: EMPTY,
    timestamp: 0n,
    stream: '',
    partition: 0,
    subject: '',
    replySubject: '',
    // No prototype: any header name (`__proto__`, `constructor`...) is an own property, nothing is inherited.
    headers: Object.create(null) as Record<string, Uint8Array>,
    ackInbox: '',
    correlationId: '',
    ackPolicy: 0,
  };
  while (pos < end) {
    const tag = varint32(buf);
    switch (tag) {
      case 8:
        m.offset = varint64(buf);
        break;
      case 18: {
        const len = varint32(buf);
        m.key = view(buf, pos, len);
        pos += len;
        break;
      }
      case 26: {
        const len = varint32(buf);
        m.value = view(buf, pos, len);
        pos += len;
        break;
      }
      case 32:
        m.timestamp = varint64(buf);
        break;
      case 42: {
        const len = varint32(buf);
        m.stream = streamCache.get(buf, pos, pos + len);
        pos += len;
        break;
      }
      case 48:
        m.partition = varint32(buf) | 0;
        break;
      case 58: {
        const len = varint32(buf);
        m.subject = subjectCache.get(buf, pos, pos + len);
        pos += len;
        break;
      }
      case 66: {
        const len = varint32(buf);
        m.replySubject = replyCache.get(buf, pos, pos + len);
        pos += len;
        break;
      }
      case 74: {
        const len = varint32(buf);
        const entryEnd = pos + len;
        let key = '';
        let value: Uint8Array = EMPTY;
        while (pos < entryEnd) {
          const t = varint32(buf);
          if (t === 10) {
            const l = varint32(buf);
            key = headerKeyCache.get(buf, pos, pos + l);
            pos += l;
          } else if (t === 18) {
            const l = varint32(buf);
            value = view(buf, pos, l);
            pos += l;
          } else skip(buf, t & 7);
        }
        m.headers[key] = value;
        break;
      }
      case 82: {
        const len = varint32(buf);
        m.ackInbox = buf.toString('utf8', pos, pos + len);
        pos += len;
        break;
      }
      case 90: {
        const len = varint32(buf);
        m.correlationId = buf.toString('utf8', pos, pos + len);
        pos += len;
        break;
      }
      case 96:
        m.ackPolicy = varint32(buf);
        break;
      default:
        if (tag === 0 || (tag & 7) === 4) return m;
        skip(buf, tag & 7);
    }
  }
  return m;
}
