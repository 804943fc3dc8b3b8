/**
 * The demo behind `npm run demo`: starts a local Liftbridge (installed by
 * scripts/install-liftbridge.mjs), creates a stream, publishes a few messages, reads them
 * back and shows the cluster view, then stops everything.
 *
 * Point it at your own broker instead with `LIFTBRIDGE_BROKERS=host:port npm run demo`.
 */
import { firstValueFrom, lastValueFrom, map, toArray } from 'rxjs';
import { connect, StartAt, StopAt } from '../src/index.js';
import { startSingleNode } from '../spec/support/broker.js';

async function main(): Promise<void> {
  const external = process.env.LIFTBRIDGE_BROKERS;
  const node = external === undefined ? await startSingleNode() : undefined;
  const brokers = external?.split(',') ?? [node!.address];
  console.log(`Liftbridge at ${brokers.join(', ')}${node === undefined ? '' : ' (started for this demo)'}`);

  const lift = connect({ brokers });
  lift.status$.subscribe((s) => {
    if (s.type === 'connected') console.log(`  status: connected to ${s.address}`);
  });
  try {
    const stream = `demo-${Date.now()}`;
    await firstValueFrom(lift.createStream({ name: stream, subject: `demo.${stream}`, partitions: 2 }));
    console.log(`created stream ${stream} with 2 partitions`);

    for (let i = 0; i < 5; i++) {
      const ack = await firstValueFrom(
        lift.publish(stream, JSON.stringify({ order: i, total: 10 * i }), { key: `order-${i}`, partition: i % 2, headers: { source: 'demo' } }),
      );
      console.log(`published order-${i} -> partition ${ack.partition} offset ${ack.offset}`);
    }

    for (const partition of [0, 1]) {
      const values = await lastValueFrom(
        lift.subscribe(stream, { partition, startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(
          map((m) => `${m.offset}:${new TextDecoder().decode(m.value)}`),
          toArray(),
        ),
      );
      console.log(`partition ${partition} read back: ${values.join('  ')}`);
    }

    const meta = await firstValueFrom(lift.refreshMetadata());
    const info = meta.stream(stream);
    console.log(`metadata: ${meta.brokers.length} broker(s); ${stream} partitions led by ${info?.partitions.map((p) => `${p.id}->${p.leader}`).join(', ')}`);
    await firstValueFrom(lift.deleteStream(stream));
    console.log('deleted the stream; demo done.');
  } finally {
    await lift.close();
    await node?.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
