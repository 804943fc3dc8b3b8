/**
 * A broker that accepts and never answers (issue 8.3): the path to a real single node goes through
 * a proxy that turns into a black hole (connections stay open, nothing comes back), like a SIGSTOP'd
 * process. Ack timeouts must not hold traffic on it forever: the SDK probes the connection, the
 * probe gets no answer, the call breaks and messages go to another address of the cluster.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { publishTo } from '../../src/publish/publish-to.js';
import type { PublishResult } from '../../src/publish/types.js';
import { freePorts, type SingleNode, startSingleNode, uniqueName } from '../support/broker.js';
import { type ThrottledProxy, startThrottledProxy } from '../support/h2-server.js';

let node: SingleNode | undefined;
let proxy: ThrottledProxy | undefined;
let realAddress = '';

beforeAll(async () => {
  const [realPort, proxyPort] = await freePorts(2);
  realAddress = `127.0.0.1:${realPort}`;
  // The broker advertises the proxy's address; it listens on realPort, which the client also knows.
  proxy = await startThrottledProxy(realAddress, Number.POSITIVE_INFINITY, proxyPort);
  node = await startSingleNode({ port: proxyPort, extraConfig: { listen: realAddress } });
}, 90_000);
afterAll(async () => {
  await node?.stop();
  await proxy?.close();
}, 30_000);

const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

describe('a frozen broker path', () => {
  it('after ack timeouts, traffic moves to another broker address: every message is acked and stored once', async () => {
    const lift = connect({
      brokers: [node!.address, realAddress],
      callTimeoutMs: 1_000,
      retry: { maxRetries: 10, initialDelayMs: 50, totalTimeoutMs: 30_000 },
    });
    clients.push(lift);
    const name = uniqueName('frozen');
    await firstValueFrom(lift.createStream({ name }));
    // Warm up: the PublishAsync session to the advertised (proxied) address is open.
    await lastValueFrom(publishTo(lift, name)([{ value: 'warm', headers: { id: 'warm' } }]));
    proxy!.freeze();
    const N = 50;
    const started = Date.now();
    // Without a probe the call to the frozen path never breaks: ack timeouts, resends to it, AckTimeoutError.
    const results = await lastValueFrom(
      publishTo(lift, name, { ackWaitMs: 500, failFast: false })(Array.from({ length: N }, (_, i) => ({ value: `v${i}`, headers: { id: `m${i}` } }))).pipe(
        toArray(),
      ),
    );
    const failed = results.filter((r): r is Extract<PublishResult, { ok: false }> => !r.ok).map((r) => `${String(r.input.headers?.id)}: ${r.error.message}`);
    expect(failed.slice(0, 3)).toEqual([]);
    expect(Date.now() - started).toBeLessThan(20_000);
    // Reads go to the partition leader's advertised (frozen) address, so the acks are the data:
    // offsets 1..N, each once, means each message was stored once, right after 'warm' (offset 0).
    const offsets = results.map((r) => (r.ok ? Number((r.ack as { offset: bigint }).offset) : -1));
    expect(offsets).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  });

  it('an advertised address that refuses connections: the cause is reported at once and publishing goes on elsewhere', async () => {
    const lift = connect({
      brokers: [node!.address, realAddress],
      callTimeoutMs: 1_000,
      retry: { maxRetries: 10, initialDelayMs: 50, totalTimeoutMs: 30_000 },
    });
    clients.push(lift);
    const name = uniqueName('refused');
    await firstValueFrom(lift.createStream({ name }));
    const errors: string[] = [];
    const sub = lift.status$.subscribe((s) => {
      if (s.type === 'reconnecting' && s.rpc === 'PublishAsync') errors.push(`${s.error.name}: ${s.error.message}`);
    });
    await proxy!.close(); // the advertised port now refuses connections
    const started = Date.now();
    const ack = await firstValueFrom(publish(lift, name, 'through another address'));
    sub.unsubscribe();
    expect(ack.offset).toBe(0n);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(errors[0]).toMatch(/^ConnectionError: .*ECONNREFUSED.*nothing was sent/);
  });
});
