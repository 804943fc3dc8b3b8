/**
 * The browser transport (src/browser) driven from Node (which has `fetch` and web streams) through
 * a real grpcwebproxy in front of a real broker: metadata, admin, publish over unary Publish with
 * a bounded number in flight, subscribe with backpressure through the fetch reader, and
 * unsubscribe aborting the fetch.
 */
import { readFileSync } from 'node:fs';
import { firstValueFrom, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { BufferOverflowError, consume, connectWeb, InvalidArgumentError, type Message, StartAt, StopAt, StreamExistsError } from '../../src/browser/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { useGrpcWebProxy } from '../support/grpcweb-proxy.js';

const broker = useSingleNode();
const proxy = useGrpcWebProxy(() => broker.address);
const text = (m: Message): string => new TextDecoder().decode(m.value);

/** Resolves once `check()` is true (re-checked every 20 ms; what it waits for has no event to await). */
async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('web client through grpcwebproxy', () => {
  const clients: ReturnType<typeof connectWeb>[] = [];
  const client = (options: Partial<Parameters<typeof connectWeb>[0]> = {}) => {
    const c = connectWeb({ url: proxy.url, ...options });
    clients.push(c);
    return c;
  };
  afterAll(() => {
    for (const c of clients) c.close();
  });

  it('fails fast on bad options with InvalidArgumentError naming the field', async () => {
    expect(() => connectWeb({ url: 'localhost:8080' })).toThrow(InvalidArgumentError);
    expect(() => connectWeb({ url: proxy.url, maxPublishInFlight: 0 })).toThrow(/options\.maxPublishInFlight/);
    const lift = client();
    await expect(firstValueFrom(lift.publish('', 'x'))).rejects.toMatchObject({ field: 'stream' });
    await expect(firstValueFrom(lift.subscribe('s', { prefetch: -1 }))).rejects.toMatchObject({ field: 'options.prefetch' });
  });

  it('fetches metadata and administers streams', async () => {
    const lift = client();
    const statuses: string[] = [];
    lift.status$.subscribe((s) => statuses.push(s.type));
    const name = uniqueName('web-admin');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    await expect(firstValueFrom(lift.createStream({ name }))).rejects.toBeInstanceOf(StreamExistsError);
    const md = await firstValueFrom(lift.metadata$);
    expect(md.brokers.map((b) => `${b.host}:${b.port}`)).toContain(broker.address);
    expect(
      md
        .stream(name)
        ?.partitions.map((p) => p.id)
        .sort(),
    ).toEqual([0, 1]);
    await firstValueFrom(lift.deleteStream(name));
    expect(statuses).toEqual(['connecting', 'connected']);
  });

  it('publishes with unary Publish and reads the messages back in order', async () => {
    const lift = client();
    const name = uniqueName('web-pub');
    await firstValueFrom(lift.createStream({ name }));
    const acks = [];
    for (const v of ['a', 'b', 'c']) acks.push(await firstValueFrom(lift.publish(name, v, { key: 'k', headers: { h: 'v' } })));
    expect(acks.map((a) => ('offset' in a ? a.offset : undefined))).toEqual([0n, 1n, 2n]);
    const sent = await firstValueFrom(lift.publish(name, 'd', { ackPolicy: 'none' }));
    expect(sent).toMatchObject({ type: 'sent', stream: name, partition: 0 });
    const got = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(3n) }).pipe(toArray()));
    expect(got.map((m) => [m.offset, text(m)])).toEqual([
      [0n, 'a'],
      [1n, 'b'],
      [2n, 'c'],
      [3n, 'd'],
    ]);
    expect(new TextDecoder().decode(got[0]?.headers.h)).toBe('v');
    const json = JSON.parse(JSON.stringify(got[0])) as { offset: string; value: string };
    expect([json.offset, json.value]).toEqual(['0', btoa('a')]);
  });

  it('publishes headers named __proto__ and length as headers, and reads them back', async () => {
    const lift = client();
    const name = uniqueName('web-proto-headers');
    await firstValueFrom(lift.createStream({ name }));
    // Own properties named like prototype members (JSON.parse makes `__proto__` an own key).
    const headers = JSON.parse('{"__proto__": "p", "length": "l", "h": "v"}') as Record<string, string>;
    const ack = await firstValueFrom(lift.publish(name, 'x', { headers }));
    expect(ack).toMatchObject({ stream: name, offset: 0n });
    const [got] = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(0n) }).pipe(toArray()));
    // The broker adds its own `subject` and `reply` headers; ours are own properties beside them.
    const read = Object.entries(got?.headers ?? {})
      .filter(([k]) => k !== 'subject' && k !== 'reply')
      .map(([k, v]) => [k, new TextDecoder().decode(v)]);
    expect(read.sort()).toEqual([
      ['__proto__', 'p'],
      ['h', 'v'],
      ['length', 'l'],
    ]);
    expect(Object.getPrototypeOf(got?.headers)).toBe(null);
  });

  it('publishTo keeps at most maxPublishInFlight calls in flight and emits acks in input order', async () => {
    const lift = client({ maxPublishInFlight: 3 });
    const name = uniqueName('web-pubto');
    await firstValueFrom(lift.createStream({ name }));
    let maxInFlight = 0;
    const inputs = Array.from({ length: 40 }, (_, i) => `m${i}`);
    const source = new Subject<string>();
    const done = lastValueFrom(source.pipe(lift.publishTo(name), toArray()));
    for (const v of inputs) {
      source.next(v);
      maxInFlight = Math.max(maxInFlight, lift.stats().publish.inFlight);
    }
    source.complete();
    const acks = await done;
    // Acks come in input order; concurrent unary calls may be stored in another order.
    expect(acks.map((a) => a.offset).sort((a, b) => (a < b ? -1 : 1))).toEqual(inputs.map((_, i) => BigInt(i)));
    const stored = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(39n) }).pipe(toArray()));
    const valueAt = new Map(stored.map((m) => [m.offset, text(m)]));
    expect(acks.map((a) => valueAt.get(a.offset))).toEqual(inputs);
    expect(maxInFlight).toBe(3);
    expect(lift.stats().publish).toEqual({ inFlight: 0, queued: 0 });
  });

  it('fails a publish with BufferOverflowError once maxQueuedPublishes wait', async () => {
    const lift = client({ maxPublishInFlight: 1, maxQueuedPublishes: 1 });
    const name = uniqueName('web-overflow');
    await firstValueFrom(lift.createStream({ name }));
    const results = await Promise.allSettled([0, 1, 2].map((i) => firstValueFrom(lift.publish(name, `v${i}`))));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(BufferOverflowError);
  });

  it('reads nothing past prefetch unsettled messages, then drains when they settle', async () => {
    const lift = client();
    const name = uniqueName('web-bp');
    await firstValueFrom(lift.createStream({ name }));
    await lastValueFrom(lift.publish(name, 'warm-up'));
    const n = 60;
    const src = new Subject<string>();
    const published = lastValueFrom(src.pipe(lift.publishTo(name), toArray()));
    for (let i = 0; i < n; i++) src.next(`v${i}`);
    src.complete();
    await published;
    const gate = new Subject<void>();
    const seen: bigint[] = [];
    const sub = lift
      .subscribe(name, { startAt: StartAt.earliest(), prefetch: 5 })
      .pipe(
        consume(
          async (m) => {
            seen.push(m.offset);
            await firstValueFrom(gate);
          },
          { concurrency: 100 },
        ),
      )
      .subscribe();
    const stats = () => lift.stats().subscriptions[0];
    await until(() => stats()?.paused === true, 'the window to fill');
    // Paused: the loop waits for settlement and does not call reader.read() again.
    expect(stats()).toMatchObject({ read: 5, unsettled: 5, paused: true });
    expect(seen).toEqual([0n, 1n, 2n, 3n, 4n]);
    const opener = setInterval(() => gate.next(), 5);
    await until(() => seen.length === n + 1, 'every message');
    clearInterval(opener);
    gate.complete();
    expect(seen).toEqual(Array.from({ length: n + 1 }, (_, i) => BigInt(i)));
    expect(stats()?.maxUnsettled).toBeLessThanOrEqual(5);
    sub.unsubscribe();
    expect(lift.stats().subscriptions).toEqual([]);
  });

  it('unsubscribing aborts the fetch and the proxy cancels the Subscribe on the broker', async () => {
    const lift = client();
    const name = uniqueName('web-cancel');
    await firstValueFrom(lift.createStream({ name }));
    // From the earliest offset: the subscription is open on this side before the broker has
    // registered it, so a "new only" read could miss the one message and wait forever.
    const first = lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }).pipe(take(1)));
    await until(() => lift.stats().subscriptions.length === 1, 'the subscription');
    await firstValueFrom(lift.publish(name, 'only'));
    expect(text(await first)).toBe('only');
    expect(lift.stats().subscriptions).toEqual([]);
    // The proxy's call context is cancelled with the fetch, which cancels its call to the broker.
    await until(() => /code Canceled.*grpc\.method=Subscribe/.test(readFileSync(proxy.logFile, 'utf8')), 'the proxy to end the Subscribe with Canceled');
  });

  it('close() completes subscriptions and fails later calls with ClientClosedError', async () => {
    const lift = client();
    const name = uniqueName('web-close');
    await firstValueFrom(lift.createStream({ name }));
    const messages = lastValueFrom(lift.subscribe(name).pipe(toArray()));
    await until(() => lift.stats().subscriptions.length === 1, 'the subscription');
    lift.close();
    expect(await messages).toEqual([]);
    await expect(firstValueFrom(lift.publish(name, 'x'))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  });
});
