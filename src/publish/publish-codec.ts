/**
 * Hand-written protobuf codec for the PublishAsync hot path: `PublishRequest` out,
 * `PublishResponse` in. Same bytes as the ts-proto code (spec/unit/publish-codec.spec.ts checks
 * both ways), at a fraction of the cost: one exact-size Buffer per request, and a response
 * decoder that reads only what the publisher uses.
 *
 * Internal: not exported from the package root.
 */

/** A validated message, ready to encode. */
export interface WireMessage {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly stream: string;
  readonly partition: number;
  readonly headers: ReadonlyArray<readonly [string, Uint8Array]>;
  readonly correlationId: string;
  /** 0 leader, 1 all, 2 none. */
  readonly ackPolicy: number;
  /** -1n = no check. */
  readonly expectedOffset: bigint;
}

function varintSize(v: number): number {
  // v is a non-negative integer < 2^32
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Two's-complement varint of a 64-bit integer: lo/hi 32-bit halves. */
function int64Parts(v: bigint): [number, number] {
  const u = BigInt.asUintN(64, v);
  return [Number(u & 0xffffffffn), Number(u >> 32n)];
}

function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varintSize(lo);
  // bits above 32: (hi) needs ceil(bits/7) groups in total
  let bits = 32;
  let h = hi;
  while (h !== 0) {
    bits++;
    h >>>= 1;
  }
  return Math.ceil(bits / 7);
}

function writeVarint64(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi !== 0 || lo >= 0x80) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi = hi >>> 7;
  }
  buf[pos++] = lo;
  return pos;
}

const MINUS_ONE: [number, number] = [0xffffffff, 0xffffffff];

/** UTF-8 bytes of stream names, which every request of a publisher repeats (a small, bounded cache). */
const names = new Map<string, Buffer>();
function nameBytes(name: string): Buffer {
  let b = names.get(name);
  if (b === undefined) {
    if (names.size >= 256) names.clear();
    b = Buffer.from(name, 'utf8');
    names.set(name, b);
  }
  return b;
}

/**
 * Encodes a PublishRequest with its 5-byte gRPC frame prefix (`subarray(5)` is the bare message).
 * Default-valued fields are omitted, as ts-proto does.
 */
export function encodePublishRequest(m: WireMessage): Buffer {
  const streamBytes = nameBytes(m.stream);
  const streamLen = streamBytes.length;
  const corrLen = Buffer.byteLength(m.correlationId);
  const offset = m.expectedOffset === -1n ? MINUS_ONE : int64Parts(m.expectedOffset);
  let size = 0;
  if (m.key.length > 0) size += 1 + varintSize(m.key.length) + m.key.length;
  if (m.value.length > 0) size += 1 + varintSize(m.value.length) + m.value.length;
  if (streamLen > 0) size += 1 + varintSize(streamLen) + streamLen;
  if (m.partition !== 0) size += 1 + varintSize(m.partition);
  const entryLens: number[] = [];
  for (const [k, v] of m.headers) {
    const kl = Buffer.byteLength(k);
    let e = 0;
    if (kl > 0) e += 1 + varintSize(kl) + kl;
    if (v.length > 0) e += 1 + varintSize(v.length) + v.length;
    entryLens.push(e, kl);
    size += 1 + varintSize(e) + e;
  }
  if (corrLen > 0) size += 1 + varintSize(corrLen) + corrLen;
  if (m.ackPolicy !== 0) size += 2;
  if (m.expectedOffset !== 0n) size += 1 + varint64Size(offset[0], offset[1]);

  // gRPC framing: uncompressed flag + big-endian length, then the message.
  const buf = Buffer.allocUnsafe(5 + size);
  buf[0] = 0;
  buf.writeUInt32BE(size, 1);
  let p = 5;
  if (m.key.length > 0) {
    buf[p++] = 0x0a;
    p = writeVarint(buf, p, m.key.length);
    buf.set(m.key, p);
    p += m.key.length;
  }
  if (m.value.length > 0) {
    buf[p++] = 0x12;
    p = writeVarint(buf, p, m.value.length);
    buf.set(m.value, p);
    p += m.value.length;
  }
  if (streamLen > 0) {
    buf[p++] = 0x1a;
    p = writeVarint(buf, p, streamLen);
    buf.set(streamBytes, p);
    p += streamLen;
  }
  if (m.partition !== 0) {
    buf[p++] = 0x20;
    p = writeVarint(buf, p, m.partition);
  }
  let i = 0;
  for (const [k, v] of m.headers) {
    const e = entryLens[i++] as number;
    const kl = entryLens[i++] as number;
    buf[p++] = 0x2a;
    p = writeVarint(buf, p, e);
    if (kl > 0) {
      buf[p++] = 0x0a;
      p = writeVarint(buf, p, kl);
      p += buf.write(k, p, 'utf8');
    }
    if (v.length > 0) {
      buf[p++] = 0x12;
      p = writeVarint(buf, p, v.length);
      buf.set(v, p);
      p += v.length;
    }
  }
  if (corrLen > 0) {
    buf[p++] = 0x3a;
    p = writeVarint(buf, p, corrLen);
    p += buf.write(m.correlationId, p, 'utf8');
  }
  if (m.ackPolicy !== 0) {
    buf[p++] = 0x40;
    buf[p++] = m.ackPolicy;
  }
  if (m.expectedOffset !== 0n) {
    buf[p++] = 0x48;
    p = writeVarint64(buf, p, offset[0], offset[1]);
  }
  return buf;
}

/** The fields of a PublishResponse the publisher uses. */
export interface DecodedResponse {
  correlationId: string;
  /** Set when the response carries a PublishAsyncError (check it before the ack). */
  errorCode: number | undefined;
  errorMessage: string;
  ack: DecodedAck | undefined;
}

/** The fields of an Ack. */
export interface DecodedAck {
  stream: string;
  partitionSubject: string;
  msgSubject: string;
  offset: bigint;
  correlationId: string;
  ackPolicy: number;
  receptionTimestamp: bigint;
  commitTimestamp: bigint;
  ackError: number;
}

// The decoder keeps its cursor in module state (JavaScript is single-threaded and decoding never
// yields): no reader objects per response.
let buf: Buffer = Buffer.alloc(0);
let pos = 0;

function varint(end: number): number {
  // Up to 32 bits (lengths, enums, tags); larger values keep their low 32 bits.
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new RangeError('truncated varint');
    const byte = buf[pos++] as number;
    if (shift < 32) result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
    shift += 7;
    if (shift > 63) throw new RangeError('varint too long');
  }
  return result < 2 ** 32 ? result : result % 2 ** 32;
}

function int64(end: number): bigint {
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new RangeError('truncated varint');
    const byte = buf[pos++] as number;
    const bits = byte & 0x7f;
    if (shift < 28) lo |= bits << shift;
    else if (shift === 28) {
      lo |= (bits & 0x0f) << 28;
      hi |= bits >>> 4;
    } else hi |= bits << (shift - 32);
    if (byte < 0x80) break;
    shift += 7;
    if (shift > 63) throw new RangeError('varint too long');
  }
  lo >>>= 0;
  hi >>>= 0;
  if (hi === 0) return BigInt(lo);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

/**
 * Strings that repeat in every ack (stream name, subjects): the last one decoded per slot is kept
 * with its bytes and reused when the same bytes come again.
 */
class Interned {
  bytes: Buffer = Buffer.alloc(0);
  value = '';
  read(end: number): string {
    const length = varint(end);
    const start = pos;
    pos += length;
    if (pos > end) throw new RangeError('truncated string');
    const known = this.bytes;
    if (known.length === length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (known[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.value;
    }
    if (length > 256) return buf.toString('utf8', start, pos);
    this.bytes = Buffer.from(buf.subarray(start, pos));
    this.value = buf.toString('utf8', start, pos);
    return this.value;
  }
}

const STREAM = new Interned();
const PARTITION_SUBJECT = new Interned();
const MSG_SUBJECT = new Interned();

function string(end: number): string {
  const length = varint(end);
  const start = pos;
  pos += length;
  if (pos > end) throw new RangeError('truncated string');
  return buf.toString('utf8', start, pos);
}

/** Skips a field of wire type `wt`. */
function skip(wt: number, end: number): void {
  switch (wt) {
    case 0:
      int64(end);
      break;
    case 1:
      pos += 8;
      break;
    case 2: {
      const length = varint(end);
      pos += length;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new RangeError(`unsupported wire type ${wt}`);
  }
  if (pos > end) throw new RangeError('truncated field');
}

function decodeAck(end: number): DecodedAck {
  const ack: DecodedAck = {
    stream: '',
    partitionSubject: '',
    msgSubject: '',
    offset: 0n,
    correlationId: '',
    ackPolicy: 0,
    receptionTimestamp: 0n,
    commitTimestamp: 0n,
    ackError: 0,
  };
  while (pos < end) {
    const tag = varint(end);
    switch (tag) {
      case 0x0a:
        ack.stream = STREAM.read(end);
        break;
      case 0x12:
        ack.partitionSubject = PARTITION_SUBJECT.read(end);
        break;
      case 0x1a:
        ack.msgSubject = MSG_SUBJECT.read(end);
        break;
      case 0x20:
        ack.offset = int64(end);
        break;
      case 0x32:
        ack.correlationId = string(end);
        break;
      case 0x38:
        ack.ackPolicy = varint(end) | 0;
        break;
      case 0x40:
        ack.receptionTimestamp = int64(end);
        break;
      case 0x48:
        ack.commitTimestamp = int64(end);
        break;
      case 0x50:
        ack.ackError = varint(end) | 0;
        break;
      default:
        skip(tag & 7, end);
    }
  }
  return ack;
}

function submessageEnd(end: number): number {
  const length = varint(end);
  const subEnd = pos + length;
  if (subEnd > end) throw new RangeError('truncated submessage');
  return subEnd;
}

/** Decodes the PublishResponse in `bytes[start, end)`. Throws RangeError on malformed input. */
export function decodePublishResponse(bytes: Buffer, start = 0, end = bytes.length): DecodedResponse {
  buf = bytes;
  pos = start;
  const out: DecodedResponse = { correlationId: '', errorCode: undefined, errorMessage: '', ack: undefined };
  while (pos < end) {
    const tag = varint(end);
    if (tag === 0x0a) {
      const subEnd = submessageEnd(end);
      out.ack = decodeAck(subEnd);
      pos = subEnd;
    } else if (tag === 0x12) {
      const subEnd = submessageEnd(end);
      out.errorCode = 0;
      while (pos < subEnd) {
        const t = varint(subEnd);
        if (t === 0x08) out.errorCode = varint(subEnd) | 0;
        else if (t === 0x12) out.errorMessage = string(subEnd);
        else skip(t & 7, subEnd);
      }
      pos = subEnd;
    } else if (tag === 0x1a) {
      out.correlationId = string(end);
    } else {
      skip(tag & 7, end);
    }
  }
  // Old servers put the correlation id only in the ack.
  if (out.correlationId === '' && out.ack !== undefined) out.correlationId = out.ack.correlationId;
  buf = EMPTY_BUFFER;
  return out;
}

const EMPTY_BUFFER = Buffer.alloc(0);
