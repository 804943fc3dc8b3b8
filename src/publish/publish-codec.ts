/**
 * Hand-written protobuf codec for the PublishAsync hot path: `PublishRequest` out,
 * `PublishResponse` in. Same bytes as the ts-proto code (spec/unit/publish-codec.spec.ts checks
 * both ways), at a fraction of the cost: one exact-size Buffer per request, and a response
 * decoder that reads only what the publisher uses.
 *
 * @internal
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

/** Encodes a PublishRequest (fields default-valued are omitted, as protobuf-es/ts-proto do). */
export function encodePublishRequest(m: WireMessage): Buffer {
  const streamLen = Buffer.byteLength(m.stream);
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

  const buf = Buffer.allocUnsafe(size);
  let p = 0;
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
    p += buf.write(m.stream, p, 'utf8');
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

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): number {
    // Up to 32 bits (lengths, enums, tags); larger values are truncated to their low 32 bits.
    const b = this.buf;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const byte = b[this.pos++] as number;
      if (shift < 32) result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
      shift += 7;
      if (shift > 63) throw new RangeError('varint too long');
    }
    return result < 2 ** 32 ? result : result % 2 ** 32;
  }

  int32(): number {
    return this.varint() | 0;
  }

  int64(): bigint {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const byte = b[this.pos++] as number;
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

  string(): string {
    const len = this.varint();
    const s = this.pos;
    this.pos += len;
    if (this.pos > this.end) throw new RangeError('truncated string');
    return this.buf.toString('utf8', s, this.pos);
  }

  /** Skips a field of wire type `wt`. */
  skip(wt: number): void {
    switch (wt) {
      case 0:
        this.int64();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2: {
        const length = this.varint();
        this.pos += length;
        return;
      }
      case 5:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`unsupported wire type ${wt}`);
    }
  }
}

function decodeAck(r: Reader, end: number): DecodedAck {
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
  while (r.pos < end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a:
        ack.stream = r.string();
        break;
      case 0x12:
        ack.partitionSubject = r.string();
        break;
      case 0x1a:
        ack.msgSubject = r.string();
        break;
      case 0x20:
        ack.offset = r.int64();
        break;
      case 0x32:
        ack.correlationId = r.string();
        break;
      case 0x38:
        ack.ackPolicy = r.int32();
        break;
      case 0x40:
        ack.receptionTimestamp = r.int64();
        break;
      case 0x48:
        ack.commitTimestamp = r.int64();
        break;
      case 0x50:
        ack.ackError = r.int32();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return ack;
}

/** Decodes a PublishResponse. Throws RangeError on malformed input. */
export function decodePublishResponse(buf: Buffer): DecodedResponse {
  const r = new Reader(buf, 0, buf.length);
  const out: DecodedResponse = { correlationId: '', errorCode: undefined, errorMessage: '', ack: undefined };
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) {
      const len = r.varint();
      const end = r.pos + len;
      if (end > r.end) throw new RangeError('truncated ack');
      const sub = new Reader(buf, r.pos, end);
      out.ack = decodeAck(sub, end);
      r.pos = end;
    } else if (tag === 0x12) {
      const len = r.varint();
      const end = r.pos + len;
      if (end > r.end) throw new RangeError('truncated error');
      const sub = new Reader(buf, r.pos, end);
      out.errorCode = 0;
      while (sub.pos < end) {
        const t = sub.varint();
        if (t === 0x08) out.errorCode = sub.int32();
        else if (t === 0x12) out.errorMessage = sub.string();
        else sub.skip(t & 7);
      }
      r.pos = end;
    } else if (tag === 0x1a) {
      out.correlationId = r.string();
    } else {
      r.skip(tag & 7);
    }
  }
  // Old servers put the correlation id only in the ack.
  if (out.correlationId === '' && out.ack !== undefined) out.correlationId = out.ack.correlationId;
  return out;
}
