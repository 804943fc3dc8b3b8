/**
 * Input handling against a real broker: relative start positions are evaluated when subscribed,
 * any header name round-trips, and values the wire cannot carry fail before anything is sent.
 */
import fc from 'fast-check';
import { asyncScheduler, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, type Message, publishBulk, StartAt, StopAt } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 3, initialDelayMs: 20 } });
});
afterAll(() => lift.destroy());

function readAll(client: LiftbridgeClient, name: string, options: Parameters<LiftbridgeClient['subscribe']>[1]): Promise<Message[]> {
  return lastValueFrom(client.subscribe(name, options).pipe(toArray()));
}

describe('relative start positions are cold', () => {
  it('StartAt.ago() is computed when the Observable is subscribed, not when subscribe() is called', async () => {
    const name = uniqueName('ago');
    await firstValueFrom(lift.createStream({ name }));
    // Messages until two of them are at least 2 ms apart (broker receive times).
    const first = await firstValueFrom(lift.publish(name, 'first'));
    let stored: Message[] = [];
    for (let i = 0; i < 200; i++) {
      await firstValueFrom(lift.publish(name, `m${i}`));
      stored = await readAll(lift, name, { startAt: StartAt.earliest(), stopAt: StopAt.latest() });
      if (stored.at(-1)!.timestampNs - stored[0]!.timestampNs >= 2_000_000n) break;
    }
    const a = stored[0]!;
    const last = stored.at(-1)!;
    expect(a.offset).toBe(first.offset);
    expect(last.timestampNs - a.timestampNs).toBeGreaterThanOrEqual(2_000_000n);

    // A client whose clock we control: the real time, until we freeze it.
    let frozen: number | undefined;
    const scheduler = Object.assign(Object.create(asyncScheduler) as typeof asyncScheduler, { now: () => frozen ?? Date.now() });
    const timed = connect({ brokers: [broker.address], scheduler, retry: { maxRetries: 3, initialDelayMs: 20 } });
    try {
      // Built now (the clock is "now": one minute ago covers every message) ...
      const cold = timed.subscribe(name, { startAt: StartAt.ago(60_000), stopAt: StopAt.latest() });
      // ... subscribed when the clock says one minute after the first message's millisecond + 1.
      frozen = Number(a.timestampNs / 1_000_000n) + 1 + 60_000;
      const got = await lastValueFrom(cold.pipe(toArray()));
      const expected = stored.filter((m) => m.timestampNs >= (a.timestampNs / 1_000_000n + 1n) * 1_000_000n);
      expect(got.map((m) => m.offset)).toEqual(expected.map((m) => m.offset));
      expect(got[0]!.offset).toBeGreaterThan(a.offset);
    } finally {
      await timed.destroy();
    }
  });
});

describe('header names round-trip through a real broker', () => {
  const RISKY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', ''];
  /** `subject` and `reply` are set by the broker on every stored message, so they are not ours to send. */
  const name = fc.oneof(fc.constantFrom(...RISKY), fc.string({ unit: 'grapheme', maxLength: 12 })).filter((n) => n !== 'subject' && n !== 'reply');
  const entries = fc.uniqueArray(fc.tuple(name, fc.uint8Array({ maxLength: 6 })), { selector: ([k]) => k, maxLength: 5 });

  function headersOf(list: ReadonlyArray<readonly [string, Uint8Array]>): Record<string, Uint8Array> {
    const h = Object.create(null) as Record<string, Uint8Array>;
    for (const [k, v] of list) h[k] = v;
    return h;
  }
  const view = (h: Readonly<Record<string, Uint8Array>>): string[] =>
    Object.entries(h)
      .filter(([k]) => k !== 'subject' && k !== 'reply')
      .map(([k, v]) => `${JSON.stringify(k)}=${Buffer.from(v).toString('hex')}`)
      .sort();

  it('any header names (fast-check; __proto__, constructor, toString included) come back as published', async () => {
    const stream = uniqueName('hdr');
    await firstValueFrom(lift.createStream({ name: stream }));
    const cases = [RISKY.map((n, i) => [n, new Uint8Array([i])] as const), ...fc.sample(entries, { numRuns: 150, seed: 42 })];
    const acks = await lastValueFrom(
      publishBulk(
        lift,
        cases.map((list) => ({ value: 'v', headers: headersOf(list) })),
        { stream },
      ).pipe(toArray()),
    );
    expect(acks).toHaveLength(cases.length);
    const got = await readAll(lift, stream, { startAt: StartAt.earliest(), stopAt: StopAt.latest() });
    expect(got.map((m) => view(m.headers))).toEqual(cases.map((list) => view(headersOf(list))));
    for (const m of got) {
      // Nothing inherited, and the broker's own headers are there.
      expect('toString' in m.headers).toBe(Object.hasOwn(m.headers, 'toString'));
      expect(Buffer.from(m.headers.subject!).toString()).toBe(stream);
    }
  });
});
