/**
 * Every broker of a 3-node cluster down (killed or frozen): each call ends within its budget with a
 * typed error, and close() during the outage ends everything within closeTimeoutMs, leaving no
 * socket or timer behind.
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
import { uniqueName, useCluster } from '../support/broker.js';
import { outcome, resources } from '../support/outcome.js';

const cluster = useCluster({ size: 3 });
const clients: LiftbridgeClient[] = [];
let frozen = false;
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  if (frozen) for (const n of cluster.nodes) n.resume();
  frozen = false;
  // A lone node has no Raft quorum: bring every stopped node back at once.
  await Promise.all(cluster.nodes.map((n, i) => (n.running ? undefined : cluster.restart(i))));
});

const BUDGET_MS = 5_000;
const SLACK_MS = 1_500;

function client(extra: Record<string, unknown> = {}): LiftbridgeClient {
  const c = connect({
    brokers: [...cluster.addresses],
    retry: { maxRetries: 1_000, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: BUDGET_MS },
    ...extra,
  });
  clients.push(c);
  return c;
}

async function allDown(how: 'killed' | 'frozen'): Promise<void> {
  if (how === 'killed') await Promise.all(cluster.nodes.map((_, i) => cluster.kill(i)));
  else {
    frozen = true;
    for (const n of cluster.nodes) n.pause();
  }
}

describe('3-node cluster: every broker down', () => {
  it.each(['killed', 'frozen'] as const)('every kind of call ends within its budget with a typed error (brokers %s)', async (how) => {
    const lift = client();
    const name = uniqueName('c-outage');
    await firstValueFrom(lift.createStream({ name, partitions: 2, replicationFactor: 3 }));
    await firstValueFrom(lift.publish(name, 'one', { ackPolicy: 'all' }));
    // An established subscription notices killed brokers at once (the connection drops). Frozen
    // brokers keep its connection up and Liftbridge sends nothing on an idle subscription: only
    // keepalive (keepAlive.timeMs, 5 min by default) can tell, so it is not part of the frozen case.
    const live = how === 'killed' ? outcome(lift.subscribe(name, { startAt: StartAt.earliest() })) : undefined;
    const meta = outcome(lift.metadata$);
    await firstValueFrom(lift.subscribe(name, { startAt: StartAt.earliest() }));
    await allDown(how);

    const calls: Record<string, Observable<unknown>> = {
      createStream: lift.createStream({ name: uniqueName('c-outage-new') }),
      deleteStream: lift.deleteStream(name),
      pauseStream: lift.pauseStream(name),
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
      ...(live === undefined ? [] : [live.then((r) => ['liveSubscription', r] as const)]),
      meta.then((r) => ['metadata$', r] as const),
      ...Object.entries(calls).map(async ([what, call]) => [what, await outcome(call)] as const),
    ]);
    const report = ended.map(([what, r]) => ({
      what,
      ms: r.ms,
      error: r.error instanceof Error ? `${r.error.name}: ${r.error.message.slice(0, 80)}` : String(r.error),
      ok: r.error instanceof LiftbridgeError && !(r.error instanceof NoSuchStreamError) && !(r.error instanceof NoSuchPartitionError),
    }));
    if (process.env.DEBUG_OUTAGE) console.log(report.map((r) => `${r.what} ${r.ms}ms ${r.error}`).join('\n'));
    // metadata$ may wait for its next periodic refresh (30 s by default) before it errors: it is
    // checked for the kind of error only.
    expect(report.filter((r) => !r.ok || (r.what !== 'metadata$' && r.ms > BUDGET_MS + SLACK_MS))).toEqual([]);
  });

  it.each(['killed', 'frozen'] as const)(
    'close() during the outage (brokers %s) ends every call within closeTimeoutMs and leaves nothing behind',
    async (how) => {
      const before = resources();
      const lift = client({ closeTimeoutMs: 1_000, retry: { maxRetries: 1_000, initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: 60_000 } });
      const name = uniqueName('c-outage-close');
      await firstValueFrom(lift.createStream({ name, replicationFactor: 3 }));
      await firstValueFrom(lift.publish(name, 'one', { ackPolicy: 'all' }));
      const live = outcome(lift.subscribe(name, { startAt: StartAt.earliest() }));
      const meta = outcome(lift.metadata$);
      await allDown(how);
      const pending = [
        live, // close() completes it, frozen broker or not
        meta,
        outcome(lift.subscribe(name, { startAt: StartAt.earliest() })),
        outcome(lift.fetchPartitionMetadata(name, 0)),
        outcome(lift.createStream({ name: uniqueName('c-outage-close-new') })),
        outcome(lift.publish(name, 'x', { retry: {} })),
        outcome(publishTo(lift, name)(['a', 'b'])),
        outcome(lift.fetchCursor({ stream: name, partition: 0, cursorId: 'c' })),
        outcome(lift.refreshMetadata()),
        outcome(lift.publishToSubject(name, 'x')),
      ];
      await new Promise((r) => setTimeout(r, 2_000)); // let every call be inside its retry loop: nothing to await
      const t = Date.now();
      await lift.close();
      expect(Date.now() - t).toBeLessThanOrEqual(1_000 + 300);
      const all = await Promise.all(pending);
      for (const r of all) expect(r.completed || r.error instanceof ClientClosedError || r.error instanceof LiftbridgeError).toBe(true);
      const extra = (): string[] =>
        [...resources()].filter(([kind, n]) => n > (before.get(kind) ?? 0)).map(([kind, n]) => `${kind} +${n - (before.get(kind) ?? 0)}`);
      await expect.poll(extra, { timeout: Math.max(50, t + 1_000 + 300 - Date.now()), interval: 10 }).toEqual([]);
      expect(lift.stats().connections).toEqual([]);
    },
  );
});
