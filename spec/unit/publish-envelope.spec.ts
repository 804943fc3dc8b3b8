import { describe, expect, it } from 'vitest';
import { IncorrectOffsetError, InvalidArgumentError } from '../../src/errors/errors.js';
import { Ack as WireAck, Message as WireMessage } from '../../src/generated/liftbridge/api.js';
import { decodeEnvelope, encodeAckEnvelope, encodeEnvelope, ENVELOPE_MAGIC, isEnvelope } from '../../src/publish/envelope.js';
import { crc32c } from '../../src/internal/crc32.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('envelope', () => {
  it('lays out magic, version, header length, flags, type and the Message payload', () => {
    const bytes = encodeEnvelope({ value: 'v', key: 'k', headers: { h: 'x' }, ackInbox: 'inbox', correlationId: 'c1', ackPolicy: 'all' });
    expect([...bytes.subarray(0, 8)]).toEqual([0xb9, 0x0e, 0x43, 0xb4, 0, 8, 0, 0]);
    const m = WireMessage.decode(bytes.subarray(8));
    expect(text(m.key)).toBe('k');
    expect(text(m.value)).toBe('v');
    expect(text(m.headers.h!)).toBe('x');
    expect(m.ackInbox).toBe('inbox');
    expect(m.correlationId).toBe('c1');
    expect(m.ackPolicy).toBe(1);
    expect(m.offset).toBe(-1n); // no optimistic-concurrency check unless asked
  });

  it('adds a big-endian CRC-32C of the payload with crc: true, and checks it on decode', () => {
    const bytes = encodeEnvelope({ value: 'payload' }, { crc: true });
    expect([...bytes.subarray(4, 8)]).toEqual([0, 12, 1, 0]);
    const crc = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, false);
    expect(crc).toBe(crc32c(bytes.subarray(12)));
    expect(decodeEnvelope(bytes)).toMatchObject({ type: 'message', message: { expectedOffset: -1n, ackPolicy: 'leader' } });
    const corrupted = Uint8Array.from(bytes);
    corrupted[corrupted.length - 1] = (corrupted[corrupted.length - 1] ?? 0) ^ 0xff;
    expect(() => decodeEnvelope(corrupted)).toThrow(/CRC-32C mismatch/);
  });

  it('round-trips messages and acks', () => {
    const d = decodeEnvelope(encodeEnvelope({ value: new Uint8Array([0, 255]), key: 'ключ', headers: { a: 'b' }, expectedOffset: 5n, ackPolicy: 'none' }));
    expect(d.type).toBe('message');
    if (d.type !== 'message') return;
    expect([...d.message.value]).toEqual([0, 255]);
    expect(text(d.message.key)).toBe('ключ');
    expect(d.message.expectedOffset).toBe(5n);
    expect(d.message.ackPolicy).toBe('none');

    const ack = {
      stream: 's',
      partition: 3,
      offset: 42n,
      partitionSubject: 'subj',
      msgSubject: 'subj.3',
      correlationId: 'c',
      ackPolicy: 'all' as const,
      receptionTimestampNs: 1_700_000_000_000_000_000n,
      commitTimestampNs: 1_700_000_000_000_000_001n,
    };
    expect(decodeEnvelope(encodeAckEnvelope(ack))).toEqual({ type: 'ack', ack, error: undefined });
  });

  it('reports an ack carrying an error', () => {
    const payload = WireAck.encode({
      stream: 's',
      partitionSubject: 's',
      msgSubject: 's',
      offset: 0n,
      ackInbox: '',
      correlationId: 'c9',
      ackPolicy: 0,
      receptionTimestamp: 0n,
      commitTimestamp: 0n,
      ackError: 2,
    }).finish();
    const bytes = new Uint8Array([...ENVELOPE_MAGIC, 0, 8, 0, 1, ...payload]);
    const d = decodeEnvelope(bytes);
    expect(d.type === 'ack' && d.error).toBeInstanceOf(IncorrectOffsetError);
    expect(d.type === 'ack' && d.error?.correlationId).toBe('c9');
  });

  // go-liftbridge's NewMessage marshals headers with Go's protobuf, which writes both fields of
  // every map entry, so an empty header value is on the wire as `12 00`. Leaving it out is valid
  // proto3 but crashes the unreleased Liftbridge main when the message is read back (docs/testing.md).
  it('writes an empty header value as a present field, byte for byte like go-liftbridge NewMessage', () => {
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    // magic, version 0, header length 8, flags 0, type 0 | offset -1 | headers { key "" value "" }
    expect(hex(encodeEnvelope({ value: '', headers: { '': '' } }))).toBe('b90e43b400080000' + '08ffffffffffffffffff01' + '4a040a001200');
    // headers { key "h" value "" }, value "v"
    expect(hex(encodeEnvelope({ value: 'v', headers: { h: '' } }))).toBe('b90e43b400080000' + '08ffffffffffffffffff01' + '1a0176' + '4a050a0168' + '1200');
  });

  it('rejects what is not a client envelope, naming the field', () => {
    const plain = new TextEncoder().encode('just some bytes');
    expect(isEnvelope(plain)).toBe(false);
    for (const bad of [
      plain,
      new Uint8Array([...ENVELOPE_MAGIC, 1, 8, 0, 0]), // version
      new Uint8Array([...ENVELOPE_MAGIC, 0, 99, 0, 0]), // header length
      new Uint8Array([...ENVELOPE_MAGIC, 0, 8, 1, 0]), // CRC flag but 8-byte header
      new Uint8Array([...ENVELOPE_MAGIC, 0, 8, 0, 5]), // internal type
    ]) {
      let error: unknown;
      try {
        decodeEnvelope(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).field).toBe('envelope');
    }
    expect(() => encodeEnvelope({ value: 1 as unknown as string })).toThrow(/message\.value/);
    expect(() => encodeEnvelope({ value: 'v', ackPolicy: 'most' as 'all' })).toThrow(/message\.ackPolicy/);
  });
});
