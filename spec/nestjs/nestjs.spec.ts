/**
 * rx-liftbridge/nestjs in real Nest applications on a real single node: the module, the
 * microservice transport (LiftbridgeServer) and the ClientProxy.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Controller, Inject, type INestApplication, Injectable, Module, type Type } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
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
    const closed = [
      firstValueFrom(orders.byClass.status$.pipe(filter((e) => e.type === 'closed'))),
      firstValueFrom(orders.audit.status$.pipe(filter((e) => e.type === 'closed'))),
    ];
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

  /** A logger that records messages, and resolves `stopped` when a partition stops. */
  function recordingLogger() {
    const lines: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const log = (m: string, f?: Record<string, unknown>): void => {
      lines.push(`${m} ${JSON.stringify(f ?? {})}`);
      if (m.includes('partition stopped')) stop();
    };
    return { lines, stopped, logger: { debug: () => undefined, info: log, warn: log, error: log } };
  }

  /** A controller for `stream` that records offsets and throws at `failAt`. */
  function failingAt(stream: string, failAt: bigint, processed: bigint[], onOffset?: (o: bigint) => void): Type {
    @Controller()
    class Handlers {
      @EventPattern<string>(stream)
      async onMessage(@Payload() _data: unknown, @Ctx() ctx: LiftbridgeContext): Promise<void> {
        processed.push(ctx.getOffset());
        onOffset?.(ctx.getOffset());
        if (ctx.getOffset() === failAt) throw new RpcException(`boom at ${failAt}`); // Nest's exception layer keeps an RpcException's message
      }
    }
    return Handlers;
  }

  async function publishN(stream: string, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await lastValueFrom(proxy.emit(stream, { i }));
  }

  it("onError 'stop-partition' (the default): the partition stops at the failed message, whose offset is never committed", async () => {
    const stream = await newStream();
    await publishN(stream, 4);
    const processed: bigint[] = [];
    const rec = recordingLogger();
    const groupId = uniqueName('g');
    const { app } = await hybridApp(failingAt(stream, 1n, processed), { groupId, logger: rec.logger });
    await rec.stopped;
    await expect.poll(() => committed(stream, groupId), { timeout: 20_000 }).toBe(0n);
    await app.close();
    expect(processed).toEqual([0n, 1n]);
    expect(await committed(stream, groupId)).toBe(0n);
    expect(rec.lines.some((l) => l.includes('boom at 1') && l.includes('"partition":0'))).toBe(true);
  });

  it("onError 'skip': the failure is logged and the partition goes on", async () => {
    const stream = await newStream();
    await publishN(stream, 4);
    const processed: bigint[] = [];
    const rec = recordingLogger();
    const groupId = uniqueName('g');
    const { app } = await hybridApp(failingAt(stream, 1n, processed), { groupId, logger: rec.logger, onError: 'skip' });
    await expect.poll(() => committed(stream, groupId), { timeout: 20_000 }).toBe(3n);
    await app.close();
    expect(processed).toEqual([0n, 1n, 2n, 3n]);
    expect(rec.lines.some((l) => l.includes('message skipped') && l.includes('"offset":"1"') && l.includes('boom at 1'))).toBe(true);
  });

  it('onError { deadLetter }: the failed message goes to the dead-letter stream with where it came from, then the partition goes on', async () => {
    const stream = await newStream();
    const dlq = await newStream();
    await lastValueFrom(proxy.emit(stream, { i: 0 }));
    await lastValueFrom(proxy.emit(stream, new LiftbridgeRecord({ i: 1 }, { key: 'k1', headers: { trace: 't-1' } })));
    await lastValueFrom(proxy.emit(stream, { i: 2 }));
    const processed: bigint[] = [];
    const groupId = uniqueName('g');
    const { app } = await hybridApp(failingAt(stream, 1n, processed), { groupId, logger: recordingLogger().logger, onError: { deadLetter: dlq } });
    await expect.poll(() => committed(stream, groupId), { timeout: 20_000 }).toBe(2n);
    await app.close();
    expect(processed).toEqual([0n, 1n, 2n]);
    const [dead] = await lastValueFrom(lift.subscribe(dlq, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray()));
    expect(text(dead!.value)).toBe('{"i":1}');
    expect(text(dead!.key)).toBe('k1');
    const h = Object.fromEntries(Object.entries(dead!.headers).map(([k, v]) => [k, text(v)]));
    expect(h).toMatchObject({ trace: 't-1', 'x-dlq-stream': stream, 'x-dlq-partition': '0', 'x-dlq-offset': '1', 'x-dlq-error': 'boom at 1' });
  });

  it('a logger that throws does not break the transport (skip still goes on)', async () => {
    const stream = await newStream();
    await publishN(stream, 3);
    const processed: bigint[] = [];
    const groupId = uniqueName('g');
    const boom = (): never => {
      throw new Error('logger down');
    };
    const { app } = await hybridApp(failingAt(stream, 1n, processed), {
      groupId,
      onError: 'skip',
      logger: { debug: boom, info: boom, warn: boom, error: boom },
    });
    await expect.poll(() => committed(stream, groupId), { timeout: 20_000 }).toBe(2n);
    await app.close();
    expect(processed).toEqual([0n, 1n, 2n]);
  });

  it('shutdown stops taking messages, waits for the handler in flight, commits it and leaves the group', async () => {
    const stream = await newStream();
    await publishN(stream, 3);
    const processed: bigint[] = [];
    const g = gate();
    const groupId = uniqueName('g');
    @Controller()
    class Handlers {
      @EventPattern<string>(stream)
      async onMessage(@Payload() _data: unknown, @Ctx() ctx: LiftbridgeContext): Promise<void> {
        processed.push(ctx.getOffset());
        if (ctx.getOffset() === 1n) {
          g.entered();
          await g.opened;
        }
      }
    }
    const { app } = await hybridApp(Handlers, { groupId, commitTimeMs: 60_000, commitCount: 1000 });
    await g.reached;
    let closed = false;
    const closing = app.close().then(() => (closed = true));
    // The handler of offset 1 is still running: close() cannot be done. (No timing: it waits on the gate.)
    await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    g.open();
    await closing;
    expect(processed).toEqual([0n, 1n]); // offset 2 was not started after the stop
    expect(await committed(stream, groupId)).toBe(1n); // flushed on close, no timer involved
    // The member left: a new member of the group gets the partition at once and starts at offset 2.
    const next: bigint[] = [];
    const done = gate();
    const again = await hybridApp(
      failingAt(stream, -1n, next, (o) => o === 2n && done.open()),
      { groupId },
    );
    await done.opened;
    await again.app.close();
    expect(next).toEqual([2n]);
  });

  it('shutdown gives up on a handler that outlives shutdownTimeoutMs and commits nothing of it', async () => {
    const stream = await newStream();
    await publishN(stream, 2);
    const g = gate();
    const groupId = uniqueName('g');
    const rec = recordingLogger();
    @Controller()
    class Handlers {
      @EventPattern<string>(stream)
      async onMessage(@Payload() _data: unknown, @Ctx() ctx: LiftbridgeContext): Promise<void> {
        if (ctx.getOffset() === 1n) {
          g.entered();
          await g.opened;
        }
      }
    }
    const { app } = await hybridApp(Handlers, { groupId, shutdownTimeoutMs: 300, logger: rec.logger });
    await g.reached;
    await app.close();
    g.open();
    expect(await committed(stream, groupId)).toBe(0n);
    expect(rec.lines.some((l) => l.includes('still running after shutdownTimeoutMs'))).toBe(true);
  });

  it('@MessagePattern handlers fail the startup with a clear error', async () => {
    const stream = await newStream();
    @Controller()
    class Handlers {
      @MessagePattern(stream)
      reply(@Payload() data: unknown): unknown {
        return data;
      }
    }
    @Module({ controllers: [Handlers] })
    class AppModule {}
    const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
    app.connectMicroservice({ strategy: new LiftbridgeServer({ client: { brokers: [broker.address] } }) });
    await expect(app.startAllMicroservices()).rejects.toThrow(/does not support @MessagePattern.*must be an @EventPattern handler/);
    await app.close();
  });

  it('send() on the proxy errors (no request/response); bad options throw InvalidArgumentError naming the field', async () => {
    await expect(lastValueFrom(proxy.send('x', {}))).rejects.toThrow(/does not support send\(\)/);
    expect(() => new LiftbridgeServer({ client: { brokers: [broker.address] }, concurrency: 0 })).toThrow(
      expect.objectContaining({ field: 'options.concurrency' }),
    );
    expect(() => new LiftbridgeServer({ client: { brokers: [broker.address] }, onError: { deadLetter: '' } })).toThrow(
      expect.objectContaining({ field: 'options.onError' }),
    );
    expect(() => new LiftbridgeClientProxy({ client: { brokers: [broker.address] }, ackPolicy: 'most' as never })).toThrow(
      expect.objectContaining({ field: 'options.ackPolicy' }),
    );
    // A serializer that returns something that is not bytes: the emit errors, nothing is published.
    const odd = new LiftbridgeClientProxy({ client: lift, serializer: { serialize: () => 42 } });
    await expect(lastValueFrom(odd.emit('any', { a: 1 }))).rejects.toThrow(InvalidArgumentError);
    await odd.close();
  });
});

describe('examples/nestjs', () => {
  it('app.ts publishes through the proxy, bills every order through the transport and shuts down', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'examples/nestjs/app.ts'], {
      env: { ...process.env, LIFTBRIDGE_BROKERS: broker.address, TSX_TSCONFIG_PATH: 'examples/nestjs/tsconfig.json' },
      timeout: 55_000,
    });
    expect(stdout).toMatch(/OK published 20 orders \(acked\), billed 20 distinct orders/);
  });
});
