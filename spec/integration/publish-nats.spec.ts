/**
 * NATS interop against a real single node and its NATS server: a plain NATS client (the `nats` npm
 * package) publishes enveloped messages on a stream's subject; the SDK reads them back with key,
 * value and headers; Liftbridge's acks arrive enveloped on the NATS ack inbox. And
 * publishToSubject, the broker-side way to do the same.
 */
import { connect as natsConnect, createInbox, type NatsConnection } from 'nats';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckTimeoutError, connect, type LiftbridgeClient, type Message, StartAt, StopAt } from '../../src/index.js';
import { decodeEnvelope, encodeEnvelope } from '../../src/publish/envelope.js';
import { publishToSubject } from '../../src/publish/publish-to-subject.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
let nats: NatsConnection;
beforeAll(async () => {
  lift = connect({ brokers: [broker.address] });
  nats = await natsConnect({ servers: `127.0.0.1:${broker.natsPort}` });
});
afterAll(async () => {
  await nats?.close();
  await lift?.close();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

async function read(stream: string, partition: number, last: bigint): Promise<Message[]> {
  return lastValueFrom(lift.subscribe(stream, { partition, startAt: StartAt.earliest(), stopAt: StopAt.offset(last) }).pipe(toArray()));
}

describe('NATS interop: the Liftbridge envelope', () => {
  it('a message a plain NATS client publishes on the stream subject is read back with key, value and headers; the ack comes to its inbox', async () => {
    const name = uniqueName('nats');
    const subject = `nats.${name}`;
    await firstValueFrom(lift.createStream({ name, subject, partitions: 2 }));
    const inbox = createInbox();
    const acks = nats.subscribe(inbox, { max: 2 });
    await nats.flush();

    nats.publish(
      subject,
      encodeEnvelope({ value: 'from nats', key: 'nk', headers: { origin: 'nats.js', bin: Uint8Array.of(0, 200) }, ackInbox: inbox, correlationId: 'n-1' }),
    );
    nats.publish(
      `${subject}.1`,
      encodeEnvelope({ value: 'to partition 1', key: 'k1', ackInbox: inbox, correlationId: 'n-2', ackPolicy: 'all' }, { crc: true }),
    );

    const received = [];
    for await (const m of acks) received.push(decodeEnvelope(m.data));
    const byId = new Map(received.map((d) => (d.type === 'ack' ? [d.ack.correlationId, d.ack] : ['?', undefined])));
    expect(byId.get('n-1')).toMatchObject({ stream: name, partition: 0, offset: 0n, msgSubject: subject, ackPolicy: 'leader' });
    expect(byId.get('n-2')).toMatchObject({ stream: name, partition: 1, offset: 0n, msgSubject: `${subject}.1`, ackPolicy: 'all' });
    expect(received.every((d) => d.type === 'ack' && d.error === undefined)).toBe(true);

    const [p0] = await read(name, 0, 0n);
    expect(text(p0?.value)).toBe('from nats');
    expect(text(p0?.key)).toBe('nk');
    expect(text(p0?.headers.origin)).toBe('nats.js');
    expect([...(p0?.headers.bin ?? [])]).toEqual([0, 200]);
    const [p1] = await read(name, 1, 0n);
    expect(text(p1?.value)).toBe('to partition 1');
    expect(text(p1?.key)).toBe('k1');
  });

  it('stores a message without an envelope verbatim as the value (no key, no ack)', async () => {
    const name = uniqueName('raw');
    await firstValueFrom(lift.createStream({ name, subject: `raw.${name}` }));
    nats.publish(`raw.${name}`, enc('just bytes'));
    // A second, enveloped message with an ack tells us when both are stored.
    const inbox = createInbox();
    const sub = nats.subscribe(inbox, { max: 1 });
    await nats.flush();
    nats.publish(`raw.${name}`, encodeEnvelope({ value: 'enveloped', ackInbox: inbox }));
    for await (const m of sub) expect(decodeEnvelope(m.data)).toMatchObject({ type: 'ack', ack: { offset: 1n } });
    const [plain, enveloped] = await read(name, 0, 1n);
    expect(text(plain?.value)).toBe('just bytes');
    expect(plain?.key).toHaveLength(0);
    expect(text(enveloped?.value)).toBe('enveloped');
  });
});

describe('publishToSubject', () => {
  it('publishes through the broker onto a subject and emits the first stream ack (partition from the subject)', async () => {
    const name = uniqueName('pts');
    const subject = `pts.${name}`;
    await firstValueFrom(lift.createStream({ name, subject, partitions: 2 }));
    const ack = await firstValueFrom(publishToSubject(lift, `${subject}.1`, 'via broker', { key: 'sk', headers: { h: 'v' }, correlationId: 'pts-1' }));
    expect(ack).toMatchObject({ stream: name, partition: 1, offset: 0n, correlationId: 'pts-1', msgSubject: `${subject}.1` });
    const [m] = await read(name, 1, 0n);
    expect(text(m?.value)).toBe('via broker');
    expect(text(m?.key)).toBe('sk');
    expect(text(m?.headers.h)).toBe('v');

    const sent = await firstValueFrom(publishToSubject(lift, subject, 'fire', { ackPolicy: 'none', correlationId: 'pts-2' }));
    expect(sent).toEqual({ type: 'sent', subject, correlationId: 'pts-2' });
  });

  it('ends with AckTimeoutError (with its correlation id) when no stream listens on the subject', async () => {
    const error = await firstValueFrom(publishToSubject(lift, `nobody.${uniqueName('x')}`, 'lost?', { ackWaitMs: 300, correlationId: 'pts-3' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AckTimeoutError);
    expect((error as AckTimeoutError).correlationId).toBe('pts-3');
  });
});
