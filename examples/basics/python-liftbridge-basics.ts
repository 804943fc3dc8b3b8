/**
 * The client surface a python-liftbridge user knows, in rx-liftbridge: create a stream on a NATS
 * subject, publish with keys, and subscribe from new / earliest / latest / an offset / a time /
 * a time delta. Run: `LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/basics/python-liftbridge-basics.ts`.
 *
 * | python-liftbridge                         | rx-liftbridge                                 |
 * | ----------------------------------------- | --------------------------------------------- |
 * | `Stream(subject, name)`, `create_stream`   | `createStream({ name, subject })`             |
 * | `publish(Message(value, stream, key=...))` | `publish(stream, value, { key })`             |
 * | `subscribe(stream.start_at_earliest_received())` | `subscribe(stream, { startAt: StartAt.earliest() })` |
 * | `.start_at_latest_received()`              | `StartAt.latest()`                            |
 * | `.start_at_offset(n)`                      | `StartAt.offset(n)`                           |
 * | `.start_at_time(datetime)`                 | `StartAt.time(date)`                          |
 * | `.start_at_time_delta(timedelta)`          | `StartAt.ago(ms)`                             |
 * | (default: new only)                        | `StartAt.newOnly()`                           |
 */
import { firstValueFrom, lastValueFrom, map, take, toArray } from 'rxjs';
import { connect, StartAt, type StartPosition, StopAt } from '../../src/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const lift = connect({ brokers });
const name = `example-basics-${Date.now()}`;

const values = (startAt: StartPosition): Promise<string[]> =>
  lastValueFrom(
    lift.subscribe(name, { startAt, stopAt: StopAt.latest() }).pipe(
      map((m) => `${new TextDecoder().decode(m.key)}=${new TextDecoder().decode(m.value)}`),
      toArray(),
    ),
  );

try {
  await firstValueFrom(lift.createStream({ name, subject: `bar.${name}` }));
  for (const [key, value] of [
    ['a', '1'],
    ['b', '2'],
    ['c', '3'],
  ])
    await firstValueFrom(lift.publish(name, value!, { key: key! }));
  // The broker stamps messages with its own clock: start the time read at the 4th message's stamp.
  const fourth = await firstValueFrom(lift.publish(name, '4', { key: 'd' }));
  const afterThree = fourth.receptionTimestampNs;
  await firstValueFrom(lift.publish(name, '5', { key: 'e' }));

  console.log(`earliest: ${(await values(StartAt.earliest())).join(' ')}`);
  console.log(`latest:   ${(await values(StartAt.latest())).join(' ')}`);
  console.log(`offset 3: ${(await values(StartAt.offset(3n))).join(' ')}`);
  console.log(`time:     ${(await values(StartAt.time(afterThree))).join(' ')}`);
  console.log(`ago 1 h:  ${(await values(StartAt.ago(3_600_000))).join(' ')}`);

  // New only: subscribe first, then publish; the subscriber sees only what came after it.
  const next = firstValueFrom(lift.subscribe(name, { startAt: StartAt.newOnly() }).pipe(take(1)));
  let sent = 0;
  let received = false;
  void next.then(() => (received = true));
  const publisher = (async () => {
    while (!received) {
      await firstValueFrom(lift.publish(name, `new-${sent++}`, { key: 'n' }));
      await new Promise((r) => setTimeout(r, 200)); // until the subscription is live
    }
  })();
  const got = await next;
  await publisher;
  console.log(`new only: ${new TextDecoder().decode(got.value)}`);
  await firstValueFrom(lift.deleteStream(name));
  console.log('OK basics');
} finally {
  await lift.close();
}
