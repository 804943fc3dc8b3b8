/**
 * rx-liftbridge/nestjs in real Nest applications on a real single node: the module, the
 * microservice transport (LiftbridgeServer) and the ClientProxy.
 */
import 'reflect-metadata';
import { Controller, Inject, type INestApplication, Injectable, Module, type Type } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { filter, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, InvalidArgumentError, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import {
  getLiftbridgeClientToken,
  getLiftbridgeHealthToken,
  LiftbridgeClientProxy,
  LiftbridgeContext,
  type LiftbridgeHealth,
  LiftbridgeModule,
  LiftbridgeRecord,
  LiftbridgeServer,
  type LiftbridgeServerOptions,
} from '../../src/nestjs/index.js';
import { LiftbridgeClient as LiftbridgeClientClass } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
let proxy: LiftbridgeClientProxy;
beforeAll(() => {
  lift = connect({ brokers: [broker.address], retry: { maxRetries: 20, initialDelayMs: 50 } });
  proxy = new LiftbridgeClientProxy({ client: { brokers: [broker.address] } });
});
afterAll(async () => {
  await proxy.close();
  await lift.close();
});

async function newStream(partitions = 1): Promise<string> {
  const name = uniqueName('nest');
  await firstValueFrom(lift.createStream({ name, partitions }));
  return name;
}

async function committed(stream: string, groupId: string, partition = 0): Promise<bigint> {
  return firstValueFrom(lift.fetchCursor({ stream, partition, cursorId: `__group:${groupId}` }));
}

interface Seen {
  data: unknown;
  stream: string;
  partition: number;
  offset: bigint;
  key: string;
  headers: Record<string, string>;
}

/** A hybrid app (HTTP app + LiftbridgeServer) whose only controller is `controller`. */
async function hybridApp(controller: Type, options: Partial<LiftbridgeServerOptions> = {}): Promise<{ app: INestApplication; server: LiftbridgeServer }> {
  @Module({ controllers: [controller] })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  const server = new LiftbridgeServer({ client: { brokers: [broker.address] }, groupId: uniqueName('g'), commitTimeMs: 50, ...options });
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  await app.init();
  await app.startAllMicroservices();
  return { app, server };
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('LiftbridgeModule', () => {
  it('provides the default client by class and token, named and async clients, and closes them on shutdown', async () => {
    const stream = await newStream();
    @Injectable()
    class Orders {
      constructor(
        @Inject(LiftbridgeClientClass) readonly byClass: LiftbridgeClient,
        @Inject(getLiftbridgeClientToken()) readonly byToken: LiftbridgeClient,
        @Inject(getLiftbridgeClientToken('audit')) readonly audit: LiftbridgeClient,
        @Inject(getLiftbridgeHealthToken()) readonly health: LiftbridgeHealth,
      ) {}
    }
    const CONFIG = 'CONFIG';
    @Module({ providers: [{ provide: CONFIG, useValue: { brokers: [broker.address] } }], exports: [CONFIG] })
    class ConfigModule {}
    @Module({
      imports: [
        LiftbridgeModule.forRoot({ brokers: [broker.address] }),
        LiftbridgeModule.forRootAsync({ name: 'audit', imports: [ConfigModule], useFactory: async (c: { brokers: string[] }) => c, inject: [CONFIG] }),
      ],
      providers: [Orders],
    })
    class AppModule {}
    const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
    await app.init();
    const orders = app.get(Orders);
    expect(orders.byClass).toBeInstanceOf(LiftbridgeClientClass);
    expect(orders.byClass).toBe(orders.byToken);
    expect(orders.audit).toBeInstanceOf(LiftbridgeClientClass);
    expect(orders.audit).not.toBe(orders.byClass);
    expect(orders.health.check().status).toBe('up'); // idle: not used yet
    // Both clients really work.
    const ack = await firstValueFrom(orders.byClass.publish(stream, 'a'));
    await firstValueFrom(orders.audit.publish(stream, 'b'));
    expect(ack.offset).toBe(0n);
    const state = orders.health.check();
    expect(state.status).toBe('up');
    expect(state.connected).toEqual([broker.address]);
    const closed = [firstValueFrom(orders.byClass.status$.pipe(filter((e) => e.type === 'closed'))), firstValueFrom(orders.audit.status$.pipe(filter((e) => e.type === 'closed')))];
    await app.close();
    await Promise.all(closed);
    expect(orders.health.check().status).toBe('down');
  });

  it('rejects bad options with InvalidArgumentError naming the field', () => {
    expect(() => LiftbridgeModule.forRoot({ brokers: [broker.address], name: '' })).toThrow(InvalidArgumentError);
    expect(() => LiftbridgeModule.forRootAsync({ useFactory: 3 as never })).toThrow(/useFactory/);
  });
});

/** A gate a handler can wait on; `opened` resolves the handler, `entered` says it is waiting. */
function gate() {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const reached = new Promise<void>((r) => (entered = r));
  return { open, opened, reached, entered };
}

describe('LiftbridgeServer and LiftbridgeClientProxy', () => {
  it('routes emitted messages to @EventPattern(stream) with payload and context, emit completes on the ack, commits the processed prefix', async () => {
    const stream = await newStream();
    const seen: Seen[] = [];
    const all = gate();
    @Controller()
    class Handlers {
      @EventPattern<string>(stream)
      onMessage(@Payload() data: unknown, @Ctx() ctx: LiftbridgeContext): void {
        const m = ctx.getMessage();
        seen.push({
          data,
          stream: ctx.getStream(),
          partition: ctx.getPartition(),
          offset: ctx.getOffset(),
          key: text(ctx.getKey()),
          // The broker adds `subject` and `reply` headers of its own.
          headers: Object.fromEntries(
            Object.entries(ctx.getHeaders())
              .filter(([k]) => k !== 'subject' && k !== 'reply')
              .map(([k, v]) => [k, text(v)]),
          ),
        });
        expect(m.timestamp).toEqual(ctx.getTimestamp());
        if (seen.length === 4) all.open();
      }
    }
    const groupId = uniqueName('g');
    const { app } = await hybridApp(Handlers, { groupId });
    // emit() completes with the broker's ack.
    const acks = [
      await lastValueFrom(proxy.emit(stream, { id: 1, total: 9.5 })),
      await lastValueFrom(proxy.emit(stream, Buffer.from([0xff, 0x00, 0x01]))),
      await lastValueFrom(proxy.emit(stream, new LiftbridgeRecord({ id: 3 }, { key: 'customer-7', headers: { source: 'web' } }))),
      await lastValueFrom(proxy.emit(stream, 'plain text')),
    ];
    expect(acks.map((a) => a.offset)).toEqual([0n, 1n, 2n, 3n]);
    // What the broker stored: JSON by default, bytes and strings as they are, key and headers per message.
    const stored = await lastValueFrom(lift.subscribe(stream, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(stored.map((m) => text(m.value))).toEqual(['{"id":1,"total":9.5}', '\ufffd\u0000\u0001', '{"id":3}', 'plain text']);
    expect([...stored[1]!.value]).toEqual([0xff, 0x00, 0x01]);
    expect(text(stored[2]!.key)).toBe('customer-7');
    await all.opened;
    expect(seen).toEqual([
      { data: { id: 1, total: 9.5 }, stream, partition: 0, offset: 0n, key: '', headers: {} },
      { data: Buffer.from([0xff, 0x00, 0x01]), stream, partition: 0, offset: 1n, key: '', headers: {} },
      { data: { id: 3 }, stream, partition: 0, offset: 2n, key: 'customer-7', headers: { source: 'web' } },
      { data: Buffer.from('plain text'), stream, partition: 0, offset: 3n, key: '', headers: {} },
    ]);
    // The processed prefix is committed (commitTimeMs 50) in the group's cursor.
    await expect.poll(() => committed(stream, groupId), { timeout: 20_000 }).toBe(3n);
    await app.close();
  });
});
