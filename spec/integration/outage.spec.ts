/**
 * Every broker down: each call ends within its budget with a typed error, and close() during the
 * outage ends everything within closeTimeoutMs, leaving no socket or timer behind.
 */
import { firstValueFrom, type Observable } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ClientClosedError,
  connect,
  LiftbridgeError,
  type LiftbridgeClient,
  NoSuchPartitionError,
  NoSuchStreamError,
  StartAt,
  StopAt,
} from '../../src/index.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { outcome, resources } from '../support/outcome.js';

const broker = useSingleNode();
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  broker.resume();
  if (!broker.running) await broker.restart();
});

const BUDGET_MS = 3_000;
const SLACK_MS = 1_500;

function client(extra: Record<string, unknown> = {}): LiftbridgeClient {
  const c = connect({
    brokers: [broker.address],
    retry: { maxRetries: 1_000, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: BUDGET_MS },
    ...extra,
  });
  clients.push(c);
  return c;
}

describe('every broker down', () => {
  it('each kind of call ends within its budget (+ small slack) with a typed, non-not-found error', async () => {
    const lift = client();
    const name = uniqueName('outage');
    await firstValueFrom(lift.createStream({ name, partitions: 2 }));
    await firstValueFrom(lift.publish(name, 'one'));
    const live = outcome(lift.subscribe(name, { startAt: StartAt.earliest() }));
    await firstValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }));
    await broker.kill();

    const calls: Record<string, Observable<unknown>> = {
      createStream: lift.createStream({ name: uniqueName('outage-new') }),
      deleteStream: lift.deleteStream(name),
      pauseStream: lift.pauseStream(name),
      setStreamReadonly: lift.setStreamReadonly(name),
      fetchPartitionMetadata: lift.fetchPartitionMetadata(name, 0),
      refreshMetadata: lift.refreshMetadata(),
      publish: lift.publish(name, 'x'),
      publishWithRetry: lift.publish(name, 'x', { retry: {} }),
      publishTo: publishTo(lift, name)(['a', 'b', 'c']),
      subscribeEarliest: lift.subscribe(name, { startAt: StartAt.earliest() }),
      subscribeLatest: lift.subscribe(name, { startAt: StartAt.latest() }),
      subscribeAll: lift.subscribe(name, { partitions: 'all', stopAt: StopAt.latest() }),
      setCursor: lift.setCursor({ stream: name, partition: 0, cursorId: 'c', offset: 1n }),
      fetchCursor: lift.fetchCursor({ stream: name, partition: 0, cursorId: 'c' }),
      publishToSubject: lift.publishToSubject(name, 'x'),
    };
    const ended = await Promise.all([
      live.then((r) => ['liveSubscription', r] as const),
      ...Object.entries(calls).map(async ([what, call]) => [what, await outcome(call)] as const),
    ]);
    const report = ended.map(([what, r]) => ({
      what,
      withinBudget: r.ms <= BUDGET_MS + SLACK_MS,
      typed: r.error instanceof LiftbridgeError && !(r.error instanceof NoSuchStreamError) && !(r.error instanceof NoSuchPartitionError),
      ms: r.ms,
      error: r.error instanceof Error ? `${r.error.name}: ${r.error.message.slice(0, 80)}` : String(r.error),
    }));
    if (process.env.DEBUG_OUTAGE) console.log(report.map((r) => `${r.what} ${r.ms}ms ${r.error}`).join('\n'));
    const bad = report.filter((r) => !r.withinBudget || !r.typed);
    expect(bad).toEqual([]);
  });

  it('a subscription with retry: { totalTimeoutMs: Infinity } outlives an outage longer than the budget and resumes; one with the budget ends', async () => {
    const lift = client();
    const name = uniqueName('outage-forever');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.publish(name, 'before'));
    const statuses: { attempt: number; stream?: string }[] = [];
    lift.status$.subscribe((s) => {
      if (s.type === 'reconnecting' && s.rpc === 'Subscribe') statuses.push({ attempt: s.attempt });
    });
    const forever: string[] = [];
    let foreverError: unknown;
    const sub = lift
      .subscribe(name, { startAt: StartAt.earliest(), retry: { totalTimeoutMs: Infinity, maxRetries: Infinity, maxDelayMs: 500 } })
      .subscribe({ next: (m) => forever.push(new TextDecoder().decode(m.value)), error: (e: unknown) => (foreverError = e) });
    const bounded = outcome(lift.subscribe(name, { startAt: StartAt.earliest() }));
    await expect.poll(() => forever).toEqual(['before']);

    await broker.kill();
    const ended = await bounded;
    expect(ended.error).toBeInstanceOf(LiftbridgeError);
    expect(ended.ms).toBeLessThanOrEqual(BUDGET_MS + SLACK_MS);
    // Twice the budget without a broker: the unbounded subscription is still retrying.
    await new Promise((r) => setTimeout(r, 2 * BUDGET_MS)); // an outage is a duration: nothing to await
    expect(foreverError).toBeUndefined();
    await broker.restart();
    const writer = client();
    await firstValueFrom(writer.publish(name, 'after'));
    await expect.poll(() => foreverError ?? forever, { timeout: 20_000 }).toEqual(['before', 'after']);
    sub.unsubscribe();
    // One outage of the unbounded subscription (the bounded one counted its own): its attempts
    // only ever grow by one; a restart of the counter would show as a repeated 1.
    const ones = statuses.filter((s) => s.attempt === 1).length;
    expect(ones).toBeLessThanOrEqual(2);
    expect(statuses.length).toBeGreaterThan(2);
  });

  it.each(['killed', 'frozen'] as const)(
    'close() during the outage (broker %s) ends every call within closeTimeoutMs and leaves no socket or timer behind',
    async (how) => {
      const before = resources();
      const lift = client({ closeTimeoutMs: 1_000, retry: { maxRetries: 1_000, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: 60_000 } });
      const name = uniqueName('outage-close');
      await firstValueFrom(lift.createStream({ name }));
      await firstValueFrom(lift.publish(name, 'one'));
      if (how === 'killed') await broker.kill();
      else broker.pause();

      const pending = [
        outcome(lift.subscribe(name, { startAt: StartAt.earliest() })),
        outcome(lift.fetchPartitionMetadata(name, 0)),
        outcome(lift.createStream({ name: uniqueName('outage-close-new') })),
        outcome(lift.publish(name, 'x', { retry: {} })),
        outcome(publishTo(lift, name)(['a', 'b'])),
        outcome(lift.fetchCursor({ stream: name, partition: 0, cursorId: 'c' })),
        outcome(lift.refreshMetadata()),
        outcome(lift.subscribe(name, { partitions: 'all', startAt: StartAt.latest() })),
        outcome(lift.setStreamReadonly(name)),
        outcome(lift.setCursor({ stream: name, partition: 0, cursorId: 'c', offset: 1n })),
        outcome(lift.publishToSubject(name, 'x')),
      ];
      const sub = lift.metadata$.subscribe({ error: () => undefined });
      await new Promise((r) => setTimeout(r, 1_500)); // let them all be in their retry loops: nothing to await
      const t = Date.now();
      await lift.close();
      const closeMs = Date.now() - t;
      const all = await Promise.all(pending);
      sub.unsubscribe();
      expect(closeMs).toBeLessThanOrEqual(1_000 + 300);
      for (const r of all) expect(r.completed || r.error instanceof ClientClosedError || r.error instanceof LiftbridgeError).toBe(true);
      // Right after close() resolved: nothing of the client's keeps the event loop alive.
      // (A socket's shutdown and setImmediate callbacks may still be finishing for a few ms.)
      const extra = (): string[] =>
        [...resources()].filter(([kind, n]) => n > (before.get(kind) ?? 0)).map(([kind, n]) => `${kind} +${n - (before.get(kind) ?? 0)}`);
      await expect.poll(extra, { timeout: Math.max(50, t + 1_000 + 300 - Date.now()), interval: 10 }).toEqual([]);
      expect(lift.stats().connections).toEqual([]);
      if (how === 'frozen') broker.resume();
    },
  );
});
