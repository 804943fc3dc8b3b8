/**
 * metadata$ through an outage of every broker: as its TSDoc says, it errors with a ConnectionError
 * once no broker answers a refresh within the retry policy, and a new subscription after the
 * outage gets a fresh view.
 */
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { type ClusterMetadata, ConnectionError, connect, type LiftbridgeClient, TimeoutError } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  if (!broker.running) await broker.restart();
});

describe('metadata$ when every broker is down', () => {
  it('errors with a ConnectionError within refresh interval + retry budget, and works again after the outage', async () => {
    const BUDGET_MS = 2_000;
    const REFRESH_MS = 1_000;
    const lift = connect({
      brokers: [broker.address],
      metadataRefreshMs: REFRESH_MS,
      retry: { initialDelayMs: 50, maxDelayMs: 500, totalTimeoutMs: BUDGET_MS },
    });
    clients.push(lift);
    const name = uniqueName('meta-outage');
    await firstValueFrom(lift.createStream({ name }));

    const views: ClusterMetadata[] = [];
    let error: unknown;
    let erroredAt = 0;
    lift.metadata$.subscribe({
      next: (m) => views.push(m),
      error: (e: unknown) => {
        error = e;
        erroredAt = Date.now();
      },
    });
    await expect.poll(() => views.some((m) => m.stream(name) !== undefined)).toBe(true);

    await broker.kill();
    const killedAt = Date.now();
    await expect.poll(() => error, { timeout: 15_000 }).toBeDefined();
    expect(error instanceof ConnectionError || error instanceof TimeoutError).toBe(true);
    expect(erroredAt - killedAt).toBeLessThanOrEqual(REFRESH_MS + BUDGET_MS + 1_500);

    await broker.restart();
    const fresh = await firstValueFrom(lift.metadata$);
    expect(fresh.stream(name)).toBeDefined();
  });
});
