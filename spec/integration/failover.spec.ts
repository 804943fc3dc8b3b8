import { createServer, type Server, type Socket } from 'node:net';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError, connect, type LiftbridgeClient, type LiftbridgeError } from '../../src/index.js';
import { freePorts, uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});
function track(c: LiftbridgeClient): LiftbridgeClient {
  clients.push(c);
  return c;
}

// Addresses where nothing listens (connection refused), and one that accepts TCP but never
// speaks HTTP/2 (a black hole: only the deadline ends a call to it).
let dead: string[] = [];
let blackHole: Server;
let blackHoleAddress = '';
const sockets = new Set<Socket>();
beforeAll(async () => {
  const ports = await freePorts(3);
  dead = ports.slice(0, 2).map((p) => `127.0.0.1:${p}`);
  blackHole = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => blackHole.listen(ports[2], '127.0.0.1', resolve));
  blackHoleAddress = `127.0.0.1:${ports[2]}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => blackHole.close(() => resolve()));
});

describe('failover across a broker list with dead brokers', () => {
  it.each(['round-robin', 'shuffle'] as const)('connects and operates through the live broker (%s)', async (failover) => {
    const retries: [string, number][] = [];
    const lift = track(
      connect({
        brokers: [...dead, broker.address],
        failover,
        retry: { maxRetries: 5, initialDelayMs: 10, jitter: 0, onRetry: (e, attempt) => retries.push([e.code, attempt]) },
      }),
    );
    const name = uniqueName('fo');
    await firstValueFrom(lift.createStream({ name }));
    const ack = await firstValueFrom(lift.publish(name, 'hello'));
    expect(ack.offset).toBe(0n);
    // Every retry was caused by an unreachable broker, numbered 1, 2, ...
    expect(retries.every(([code]) => code === 'CONNECTION')).toBe(true);
    expect(retries.map(([, n]) => n)).toEqual(retries.map((_, i) => i + 1));
    // Round-robin starts with the first (dead) address, so it must have failed over at least once.
    if (failover === 'round-robin') expect(retries.length).toBeGreaterThanOrEqual(1);
    // Sticky: once the live broker answered, later operations go straight to it.
    const before = retries.length;
    await firstValueFrom(lift.fetchPartitionMetadata(name, 0));
    await firstValueFrom(lift.deleteStream(name));
    expect(retries.length).toBe(before);
  });

  it('accepts a custom failover function', async () => {
    const seen: string[][] = [];
    const lift = track(
      connect({
        brokers: [dead[0] as string, broker.address],
        failover: function* (addresses) {
          seen.push([...addresses]);
          // Always try the last address first.
          for (;;) yield* [...addresses].reverse();
        },
        retry: { maxRetries: 0 },
      }),
    );
    const meta = await firstValueFrom(lift.metadata$);
    expect(meta.brokers).toHaveLength(1);
    expect(seen[0]).toEqual([dead[0], broker.address]);
  });

  it('fails with ConnectionError after the configured retries when every broker is down, calling onRetry for each', async () => {
    const calls: { error: LiftbridgeError; attempt: number; delayMs: number }[] = [];
    const lift = track(
      connect({
        brokers: dead,
        retry: { maxRetries: 4, initialDelayMs: 10, maxDelayMs: 40, jitter: 0, onRetry: (error, attempt, delayMs) => calls.push({ error, attempt, delayMs }) },
      }),
    );
    const started = Date.now();
    const error = await firstValueFrom(lift.createStream({ name: uniqueName('down') })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).message).toMatch(/after 4 retries/);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expect(calls.map((c) => c.delayMs)).toEqual([10, 20, 40, 40]);
    expect(calls.every((c) => c.error instanceof ConnectionError)).toBe(true);
    // Both dead brokers were tried (round-robin moved on after each failure).
    expect(new Set(calls.map((c) => c.error.address))).toEqual(new Set(dead));
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('ends every call within the total budget, even with unlimited retries or a black-hole broker', async () => {
    const lift = track(
      connect({ brokers: [blackHoleAddress, ...dead], callTimeoutMs: 60_000, retry: { maxRetries: 1_000_000, initialDelayMs: 5, totalTimeoutMs: 1_500 } }),
    );
    const started = Date.now();
    const error = await firstValueFrom(lift.metadata$).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(elapsed).toBeGreaterThanOrEqual(1_400);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('moves on from a black-hole broker when the per-attempt deadline passes', async () => {
    const lift = track(connect({ brokers: [blackHoleAddress, broker.address], callTimeoutMs: 500, retry: { maxRetries: 3, initialDelayMs: 10 } }));
    const meta = await firstValueFrom(lift.metadata$);
    expect(meta.source).toBe(broker.address);
  });

  it('stops retrying at once when the caller unsubscribes', async () => {
    let retries = 0;
    let unsubscribedAt = -1;
    const lift = track(connect({ brokers: dead, retry: { maxRetries: 1_000, initialDelayMs: 5, maxDelayMs: 5, jitter: 0, onRetry: () => retries++ } }));
    await new Promise<void>((resolve) => {
      const sub = lift.createStream({ name: uniqueName('cancel') }).subscribe({ error: () => undefined });
      const check = setInterval(() => {
        if (retries >= 3) {
          clearInterval(check);
          sub.unsubscribe();
          unsubscribedAt = retries;
          resolve();
        }
      }, 1);
    });
    // Ten more backoff periods: a retry loop that kept running would have retried again.
    await new Promise((r) => setTimeout(r, 100));
    expect(retries).toBe(unsubscribedAt);
  });
});

describe('subscribe setup through failover', () => {
  it('subscribes through the live broker when the first is down', async () => {
    const lift = track(connect({ brokers: [dead[0] as string, broker.address], retry: { maxRetries: 3, initialDelayMs: 10 } }));
    const name = uniqueName('fo-sub');
    await firstValueFrom(lift.createStream({ name }));
    await firstValueFrom(lift.publish(name, 'a'));
    const read = await lastValueFrom(lift.subscribe(name, { startAt: { type: 'earliest' }, stopAt: { type: 'latest' } }).pipe(toArray()));
    expect(read.map((m) => m.offset)).toEqual([0n]);
  });
});
