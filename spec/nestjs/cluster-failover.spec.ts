/**
 * rx-liftbridge/nestjs on a real 3-node cluster: the partition leader is killed while the
 * LiftbridgeServer's handler is consuming; nothing is skipped.
 */
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type LiftbridgeClient } from '../../src/index.js';
import { type LiftbridgeContext, LiftbridgeServer } from '../../src/nestjs/index.js';
import { uniqueName, useCluster } from '../support/broker.js';

const cluster = useCluster({ size: 3 });
let admin: LiftbridgeClient;
const clientOptions = () => ({
  brokers: [...cluster.addresses],
  callTimeoutMs: 2_000,
  retry: { maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000 },
});
beforeAll(() => {
  admin = connect(clientOptions());
});
afterAll(() => admin.destroy());

/** Publishes until acked (a lost connection during the failover may store a message twice; the assertions allow it). */
async function publish(stream: string, i: number, ackPolicy: 'all' | 'leader'): Promise<bigint> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await firstValueFrom(admin.publish(stream, JSON.stringify({ i }), { ackPolicy, ackWaitMs: 30_000 }))).offset;
    } catch (e) {
      if (attempt >= 10) throw e;
    }
  }
}

it('the partition leader is killed while the handler consumes: every offset is processed, none skipped', async () => {
  const stream = uniqueName('nest-fo');
  await firstValueFrom(admin.createStream({ name: stream, partitions: 1, replicationFactor: 3 }));
  const processed: bigint[] = [];
  @Controller()
  class Handlers {
    @EventPattern<string>(stream)
    async onMessage(@Payload() _d: unknown, @Ctx() ctx: LiftbridgeContext): Promise<void> {
      await new Promise((r) => setImmediate(r));
      processed.push(ctx.getOffset());
    }
  }
  @Module({ controllers: [Handlers] })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
  app.connectMicroservice({ strategy: new LiftbridgeServer({ client: clientOptions(), groupId: uniqueName('g'), commitCount: 1, commitTimeMs: 100 }) });
  await app.init();
  await app.startAllMicroservices();

  const acked: bigint[] = [];
  for (let i = 0; i < 10; i++) acked.push(await publish(stream, i, 'all'));
  await expect.poll(() => processed.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);

  const leader = (await firstValueFrom(admin.fetchPartitionMetadata(stream, 0))).leader;
  const index = cluster.nodes.findIndex((n) => n.id === leader);
  expect(index).toBeGreaterThanOrEqual(0);
  await cluster.kill(index);

  // 'leader': with 'all' the new leader waits for the dead replica to leave the ISR (replica.maxLagTime).
  for (let i = 10; i < 20; i++) acked.push(await publish(stream, i, 'leader'));
  const last = acked.at(-1)!;
  await expect.poll(() => processed.includes(last), { timeout: 90_000 }).toBe(true);
  await app.close();
  // Every offset processed (a failover may repeat an uncommitted one, never skip one), in order of first sight.
  expect([...new Set(processed)]).toEqual(Array.from({ length: Number(last) + 1 }, (_, i) => BigInt(i)));
  for (const o of acked) expect(processed).toContain(o);
  await cluster.restart(index);
});
