/**
 * A NestJS hybrid app on Liftbridge: the module provides the client, a ClientProxy publishes
 * orders (each emit completes on the broker's ack), the LiftbridgeServer transport feeds them to
 * an @EventPattern handler through a consumer group, and app.close() shuts everything down.
 *
 * Run: LIFTBRIDGE_BROKERS=127.0.0.1:9292 TSX_TSCONFIG_PATH=examples/nestjs/tsconfig.json node --import tsx examples/nestjs/app.ts
 */
import 'reflect-metadata';
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { LiftbridgeClient, StreamExistsError } from '../../src/index.js';
import { LiftbridgeClientProxy, LiftbridgeContext, LiftbridgeModule, LiftbridgeRecord, LiftbridgeServer } from '../../src/nestjs/index.js';

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const STREAM = `nest-orders-${process.pid}-${Date.now()}`;
const ORDERS = 20;

interface Order {
  id: number;
  total: number;
}

let done!: () => void;
const allProcessed = new Promise<void>((resolve) => (done = resolve));
const processed: string[] = [];

@Controller()
class BillingController {
  @EventPattern<string>(STREAM)
  async bill(@Payload() order: Order, @Ctx() ctx: LiftbridgeContext): Promise<void> {
    await new Promise((r) => setImmediate(r)); // some async work; the message settles when this resolves
    processed.push(`${ctx.getPartition()}:${ctx.getOffset()}:${order.id}`);
    if (processed.length === ORDERS) done();
  }
}

@Injectable()
class Shop {
  constructor(
    @Inject(LiftbridgeClient) private readonly lift: LiftbridgeClient,
    @Inject('ORDERS') private readonly orders: LiftbridgeClientProxy,
  ) {}

  async setUp(): Promise<void> {
    await firstValueFrom(this.lift.createStream({ name: STREAM, partitions: 2 })).catch((e: unknown) => {
      if (!(e instanceof StreamExistsError)) throw e;
    });
  }

  async placeOrders(): Promise<bigint[]> {
    const offsets: bigint[] = [];
    for (let id = 0; id < ORDERS; id++) {
      const ack = await lastValueFrom(this.orders.emit(STREAM, new LiftbridgeRecord<Order>({ id, total: id * 10 }, { key: `customer-${id % 4}` })));
      offsets.push(ack.offset);
    }
    return offsets;
  }
}

@Module({
  imports: [
    LiftbridgeModule.forRoot({ brokers }),
    ClientsModule.register([{ name: 'ORDERS', customClass: LiftbridgeClientProxy, options: { client: { brokers }, ackPolicy: 'all' } }]),
  ],
  controllers: [BillingController],
  providers: [Shop],
})
class AppModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  app.connectMicroservice({ strategy: new LiftbridgeServer({ client: { brokers }, groupId: 'billing', commitTimeMs: 200 }) });
  const shop = app.get(Shop);
  await shop.setUp();
  await app.startAllMicroservices();
  await app.init();
  const offsets = await shop.placeOrders();
  await allProcessed;
  await app.close(); // waits for handlers, flushes commits, leaves the group, closes the clients
  console.log(`OK published ${offsets.length} orders (acked), billed ${new Set(processed.map((p) => p.split(':')[2])).size} distinct orders`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
