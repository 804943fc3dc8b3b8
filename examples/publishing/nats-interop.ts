/**
 * NATS interop: a plain NATS client publishes Liftbridge envelopes on a stream's subject and gets
 * enveloped acks on its inbox; the SDK reads the messages back with their keys and headers.
 * publishToSubject does the same through a broker.
 *
 *   node --import tsx examples/publishing/nats-interop.ts
 */
import { connect as natsConnect, createInbox } from 'nats';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { connect, StartAt, StopAt } from '../../src/index.js';
import { decodeEnvelope, encodeEnvelope, publishToSubject } from '../../src/publish/index.js';
import { exampleBroker } from './local-broker.js';

const broker = await exampleBroker();
const lift = connect({ brokers: broker.brokers });
const nats = await natsConnect({ servers: broker.nats });
try {
  const stream = `sensors-${Date.now()}`;
  const subject = `sensors.${stream}`;
  await firstValueFrom(lift.createStream({ name: stream, subject }));

  // A plain NATS publisher: envelope the message, ask for an ack on an inbox.
  const inbox = createInbox();
  const acks = nats.subscribe(inbox, { max: 1 });
  await nats.flush();
  nats.publish(
    subject,
    encodeEnvelope({ value: '21.5', key: 'sensor-1', headers: { unit: 'celsius' }, ackInbox: inbox, correlationId: 'reading-1' }, { crc: true }),
  );
  for await (const m of acks) {
    const decoded = decodeEnvelope(m.data);
    if (decoded.type === 'ack') console.log(`NATS publisher got ack for ${decoded.ack.correlationId} at offset ${decoded.ack.offset}`);
  }

  // Through a broker instead (PublishToSubject).
  const ack = await firstValueFrom(publishToSubject(lift, subject, '22.0', { key: 'sensor-1', headers: { unit: 'celsius' } }));
  console.log(`publishToSubject stored it at offset ${ack.offset} of ${ack.stream}`);

  // The SDK reads both back with key, value and headers.
  const messages = await lastValueFrom(lift.subscribe(stream, { startAt: StartAt.earliest(), stopAt: StopAt.offset(ack.offset) }).pipe(toArray()));
  const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);
  for (const m of messages) console.log(`offset ${m.offset}: key=${text(m.key)} value=${text(m.value)} unit=${text(m.headers.unit)}`);
} finally {
  await nats.close();
  await lift.close();
  await broker.stop();
}
