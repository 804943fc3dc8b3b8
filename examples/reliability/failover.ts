/**
 * Automatic failover, in the spirit of kombu's guide: several broker addresses (one of them dead),
 * a failover strategy (round-robin or shuffle), operations retried on a healthy node with an error
 * callback (`onRetry`) and a retry limit, and a producer and consumer that survive the death of
 * the partition leader.
 *
 * Give it a cluster (the suite runs it on a 3-node cluster and kills the leader it prints:
 * spec/cluster/failover-example.spec.ts):
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292,127.0.0.1:9293,127.0.0.1:9294 node --import tsx examples/reliability/failover.ts
 *
 * FAILOVER_MESSAGES (default 2000) and FAILOVER_RATE (messages per second, default 400) set the load.
 */
import { createServer } from 'node:net';
import { concatMap, firstValueFrom, from, interval, lastValueFrom, take, tap } from 'rxjs';
import { connect, ConnectionError, type LiftbridgeClient, type LiftbridgeError, publishTo, StartAt } from '../../src/index.js';

const live = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const total = Number(process.env.FAILOVER_MESSAGES ?? 2000);
const rate = Number(process.env.FAILOVER_RATE ?? 400);

/** An address where nothing listens: like kombu's `broken.example.com`. */
async function deadAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
const dead = await deadAddress();
const brokers = [dead, ...live];

/** kombu's errback: told of every failed attempt before the next one. */
const onRetry = (who: string) => (error: LiftbridgeError, attempt: number, delayMs: number) =>
  console.log(`${who}: ${error.code} (attempt ${attempt}); retry in ${Math.round(delayMs)} ms`);

// 1. Connection failover: the first broker is dead; each strategy finds a healthy one.
for (const failover of ['round-robin', 'shuffle'] as const) {
  const lift = connect({ brokers, failover, retry: { maxRetries: 5, initialDelayMs: 50, onRetry: onRetry(failover) } });
  const answered: string[] = [];
  lift.status$.subscribe((s) => {
    if (s.type === 'connected') answered.push(s.address);
  });
  const view = await firstValueFrom(lift.refreshMetadata());
  console.log(`${failover}: metadata from ${answered.at(-1)} (${view.brokers.length} brokers in the cluster)`);
  await lift.close();
}

// 2. A retry limit: only the dead broker, at most 3 retries, then the typed error.
{
  const lift = connect({ brokers: [dead], retry: { maxRetries: 3, initialDelayMs: 50, onRetry: onRetry('limited') } });
  try {
    await firstValueFrom(lift.createStream({ name: `never-${Date.now()}` }));
  } catch (error) {
    console.log(`limited: gave up: ${error instanceof ConnectionError ? 'ConnectionError' : String(error)}: ${(error as Error).message}`);
  } finally {
    await lift.close();
  }
}

/**
 * The address of a partition's leader. A broker learns a new stream's leader through Raft a moment
 * after CreateStream returns, so ask again (every 100 ms, for up to 10 s) until the answer names one.
 */
async function leaderAddress(lift: LiftbridgeClient, stream: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const address = (await firstValueFrom(lift.refreshMetadata())).leaderAddress(stream, 0);
    if (address !== undefined) return address;
    if (Date.now() > deadline) throw new Error(`no leader for ${stream}/0 after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// 3. Operation failover: a producer and a consumer that survive the death of the partition leader.
const retry = { maxRetries: 1_000, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000, onRetry: onRetry('producer') };
const producer = connect({ brokers, failover: 'round-robin', callTimeoutMs: 10_000, retry });
const consumer = connect({ brokers, failover: 'shuffle', callTimeoutMs: 10_000, retry: { ...retry, onRetry: onRetry('consumer') } });
const stream = `failover-${Date.now()}`;
try {
  await firstValueFrom(producer.createStream({ name: stream, replicationFactor: Math.min(3, live.length) }));
  console.log(`leader of ${stream}/0: ${await leaderAddress(producer, stream)}`);

  const seen = new Set<string>();
  const allReceived = new Promise<void>((resolve, reject) => {
    consumer.subscribe(stream, { startAt: StartAt.earliest() }).subscribe({
      next: (m) => {
        seen.add(new TextDecoder().decode(m.value));
        if (seen.size === total) resolve();
      },
      error: reject,
    });
  });

  let acked = 0;
  let failed = 0;
  const batch = Math.max(1, Math.round(rate / 20));
  await lastValueFrom(
    interval(50).pipe(
      take(Math.ceil(total / batch)),
      concatMap((tick) => from(Array.from({ length: Math.min(batch, total - tick * batch) }, (_, i) => `m${tick * batch + i}`))),
      publishTo(producer, stream, { ackPolicy: 'all', retry, failFast: false, maxInFlight: 128 }),
      tap((r) => {
        if (!r.ok) {
          failed++;
          console.log(`publish failed: ${r.error.code} ${r.error.message}`);
        } else if (++acked % 200 === 0) console.log(`progress: acked ${acked}`);
      }),
    ),
    { defaultValue: undefined },
  );
  let timeout: NodeJS.Timeout | undefined;
  await Promise.race([
    allReceived,
    new Promise<never>((_, reject) => {
      timeout = setTimeout(() => reject(new Error(`consumer saw ${seen.size} of ${total} after 60 s`)), 60_000);
    }),
  ]).finally(() => clearTimeout(timeout));
  console.log(`leader of ${stream}/0 now: ${await leaderAddress(producer, stream)}`);
  console.log(`OK failover: published ${total}, acked ${acked}, failed ${failed}, received ${seen.size} distinct`);
} finally {
  await Promise.all([producer.close(), consumer.close()]);
}
