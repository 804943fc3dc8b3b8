/**
 * A reliable client, in the spirit of RabbitMQ Streams' "reliable client" example: a producer and
 * a consumer that survive a broker restart by themselves. Nothing here reconnects by hand: the
 * client resends what was not acknowledged (same correlation ids) and resubscribes from the next
 * offset; the example only prints what it sees on `status$` (disconnections, retries, metadata
 * updates, resubscriptions) and checks at the end that every message arrived.
 *
 * Restart or kill the broker while it runs (the suite does: spec/integration/examples-reliability.spec.ts):
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/reliability/reliable-client.ts
 *
 * RELIABLE_MESSAGES (default 3000) and RELIABLE_RATE (messages per second, default 500) set the load.
 */
import { concatMap, firstValueFrom, from, interval, lastValueFrom, take, tap } from 'rxjs';
import { type ClientStatus, connect, publishTo, StartAt, StreamExistsError } from '../../src/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const total = Number(process.env.RELIABLE_MESSAGES ?? 3000);
const rate = Number(process.env.RELIABLE_RATE ?? 500);
const stream = process.env.RELIABLE_STREAM ?? `reliable-${Date.now()}`;

// Keep trying through an outage of up to a minute, with backoff (status$ reports every retry).
const retry = {
  maxRetries: 1_000,
  totalTimeoutMs: 60_000,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
};
const producer = connect({ brokers, retry });
const consumer = connect({ brokers, retry });

/** One line per status event that matters to an operator. */
function describe(who: string, s: ClientStatus): string | undefined {
  switch (s.type) {
    case 'disconnected':
      return `${who}: disconnected from ${s.address}`;
    case 'connected':
      return `${who}: connected to ${s.address}`;
    case 'reconnecting':
      return `${who}: reconnecting (${s.rpc}, attempt ${s.attempt}, in ${s.delayMs} ms): ${s.error.code}`;
    case 'metadata':
      return `${who}: metadata update: brokers ${s.brokers.join(', ')}${s.changed.length > 0 ? `; leaders changed: ${s.changed.join(', ')}` : ''}`;
    case 'resubscribed':
      return `${who}: resubscribed to ${s.stream}/${s.partition} at ${s.address} from offset ${s.fromOffset ?? 'start'}`;
    default:
      return undefined;
  }
}
const events = new Map<string, number>();
for (const [who, lift] of [
  ['producer', producer],
  ['consumer', consumer],
] as const) {
  lift.status$.subscribe((s) => {
    const line = describe(who, s);
    if (line === undefined) return;
    events.set(`${who} ${s.type}`, (events.get(`${who} ${s.type}`) ?? 0) + 1);
    console.log(line);
  });
}

try {
  await firstValueFrom(producer.createStream({ name: stream, partitions: 1 })).catch((e: unknown) => {
    if (!(e instanceof StreamExistsError)) throw e;
  });
  console.log(`stream ${stream}: publishing ${total} messages at ${rate} msg/s`);

  // The consumer: from the start, forever, resubscribing by itself (bounded by `retry` above).
  const seen = new Set<number>();
  let duplicates = 0;
  const allReceived = new Promise<void>((resolve, reject) => {
    consumer.subscribe(stream, { startAt: StartAt.earliest(), retry }).subscribe({
      next: (m) => {
        const id = Number(new TextDecoder().decode(m.value));
        if (seen.has(id)) duplicates++;
        seen.add(id);
        if (seen.size === total) resolve();
      },
      error: reject,
    });
  });

  // The producer: a paced source, pipelined, resending what was not acknowledged (`retry`).
  let acked = 0;
  let failed = 0;
  const batch = Math.max(1, Math.round(rate / 20));
  const source = interval(50).pipe(
    take(Math.ceil(total / batch)),
    concatMap((tick) => from(Array.from({ length: Math.min(batch, total - tick * batch) }, (_, i) => String(tick * batch + i)))),
  );
  await lastValueFrom(
    source.pipe(
      publishTo(producer, stream, { retry, failFast: false, maxInFlight: 256 }),
      tap((r) => {
        if (!r.ok) {
          failed++;
          console.log(`publish failed: ${r.error.code} ${r.error.message}`);
        } else if (++acked % 500 === 0) console.log(`progress: acked ${acked}`);
      }),
    ),
    { defaultValue: undefined },
  );
  console.log(`producer done: acked ${acked}, failed ${failed}`);

  // Wait for the consumer to see everything (it may still be resubscribing after a restart).
  let timeout: NodeJS.Timeout | undefined;
  await Promise.race([
    allReceived,
    new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`consumer saw ${seen.size} of ${total} after 60 s`)), 60_000);
    }),
  ]).finally(() => clearTimeout(timeout));
  const summary = [...events].map(([k, n]) => `${k}=${n}`).join(' ');
  console.log(`status events: ${summary === '' ? 'none' : summary}`);
  console.log(`OK reliable: published ${total}, acked ${acked}, failed ${failed}, received ${seen.size} distinct (${duplicates} duplicates)`);
} finally {
  await Promise.all([producer.close(), consumer.close()]);
}
