import { InMemorySpanExporter, BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader, type ResourceMetrics, type MetricData, DataPointType } from '@opentelemetry/sdk-metrics';
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Context, type ContextManager, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { type Subscription, firstValueFrom, take, toArray, lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connect,
  consume,
  commit,
  InvalidArgumentError,
  publishBulk,
  publishTo,
  type LiftbridgeClient,
  type Message,
  NoSuchStreamError,
  StartAt,
} from '../../src/index.js';
import { ATTR, METRIC, instrument, type ClientTelemetry } from '../../src/otel/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';

/** A reader the test collects from on demand. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** What an application registers (e.g. via @opentelemetry/context-async-hooks): the active context per async scope. */
class AlsContextManager implements ContextManager {
  private readonly als = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.als.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.als.run(ctx, () => fn.apply(thisArg, args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    return this;
  }
}
context.setGlobalContextManager(new AlsContextManager());

const broker = useSingleNode();
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const reader = new TestReader();
const meterProvider = new MeterProvider({ readers: [reader] });
let producer: LiftbridgeClient;
let consumer: LiftbridgeClient;
const telemetry: ClientTelemetry[] = [];
const subs: Subscription[] = [];

beforeAll(() => {
  producer = connect({ brokers: [broker.address] });
  consumer = connect({ brokers: [broker.address] });
});
afterEach(() => {
  subs.splice(0).forEach((s) => s.unsubscribe());
  telemetry.splice(0).forEach((t) => t.uninstrument());
  spans.reset();
});
afterAll(async () => {
  await Promise.all([producer.destroy(), consumer.destroy()]);
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  context.disable();
});

async function metric(name: string): Promise<MetricData | undefined> {
  const { resourceMetrics } = await reader.collect();
  return (resourceMetrics as ResourceMetrics).scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

function sum(data: MetricData | undefined, filter: (attrs: Record<string, unknown>) => boolean = () => true): number {
  if (data === undefined) return 0;
  let total = 0;
  for (const p of data.dataPoints) {
    if (!filter(p.attributes)) continue;
    if (data.dataPointType === DataPointType.HISTOGRAM) total += (p.value as { count: number }).count;
    else total += p.value as number;
  }
  return total;
}

const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

async function newStream(): Promise<string> {
  const name = uniqueName('otel');
  await firstValueFrom(producer.createStream({ name }));
  return name;
}

describe('rx-liftbridge/otel', () => {
  it('a message published by one client and consumed by another carries one trace; metrics count both sides', async () => {
    telemetry.push(instrument(producer, { tracerProvider, meterProvider }), instrument(consumer, { tracerProvider, meterProvider, lagIntervalMs: 100 }));
    const name = await newStream();
    const ack = await firstValueFrom(producer.publish(name, 'hello', { correlationId: 'corr-1' }));

    const seen: Message[] = [];
    let handlerTraceparent: string | undefined;
    await lastValueFrom(
      consumer.subscribe(name, { startAt: StartAt.earliest() }).pipe(
        take(1),
        consume(async (m) => {
          seen.push(m);
          await Promise.resolve();
          // The handler runs inside the process span's context (also after an await).
          handlerTraceparent = trace.getSpan(context.active())?.spanContext().spanId;
        }),
        toArray(),
      ),
    );

    const finished = spans.getFinishedSpans();
    const send = finished.find((s) => s.kind === SpanKind.PRODUCER) as ReadableSpan;
    const process = finished.find((s) => s.kind === SpanKind.CONSUMER) as ReadableSpan;
    expect(send.name).toBe(`send ${name}`);
    expect(send.attributes).toMatchObject({
      [ATTR.system]: 'liftbridge',
      [ATTR.operationName]: 'send',
      [ATTR.destination]: name,
      [ATTR.partition]: '0',
      [ATTR.messageId]: 'corr-1',
      [ATTR.offset]: ack.offset.toString(),
    });
    expect(process.name).toBe(`process ${name}`);
    expect(process.attributes).toMatchObject({
      [ATTR.system]: 'liftbridge',
      [ATTR.destination]: name,
      [ATTR.partition]: '0',
      [ATTR.offset]: ack.offset.toString(),
    });
    // One trace: the process span is the send span's child, and links to it.
    expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(process.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
    expect(handlerTraceparent).toBe(process.spanContext().spanId);
    // The W3C header is what carried it.
    expect(text(seen[0]?.headers.traceparent)).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);

    const byStream = (a: Record<string, unknown>): boolean => a[ATTR.destination] === name;
    expect(sum(await metric(METRIC.sent), byStream)).toBe(1);
    expect(sum(await metric(METRIC.operationDuration), byStream)).toBe(1);
    expect(sum(await metric(METRIC.consumed), byStream)).toBe(1);
    expect(sum(await metric(METRIC.processDuration), byStream)).toBe(1);
    expect(sum(await metric(METRIC.inFlight), byStream)).toBe(0);
  });

  it('records a failed publish on its span and in the duration histogram', async () => {
    telemetry.push(instrument(producer, { tracerProvider, meterProvider }));
    const missing = uniqueName('otel-missing');
    await expect(firstValueFrom(producer.publish(missing, 'x', { partition: 0 }))).rejects.toBeInstanceOf(NoSuchStreamError);
    const send = spans.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER) as ReadableSpan;
    expect(send.status.code).toBe(SpanStatusCode.ERROR);
    expect(send.attributes[ATTR.errorType]).toBe('NO_SUCH_STREAM');
    expect(send.events.map((e) => e.name)).toContain('exception');
    const d = await metric(METRIC.operationDuration);
    expect(sum(d, (a) => a[ATTR.destination] === missing && a[ATTR.errorType] === 'NO_SUCH_STREAM')).toBe(1);
    expect(sum(await metric(METRIC.inFlight), (a) => a[ATTR.destination] === missing)).toBe(0);
  });

  it('reports consumer lag as an observable gauge', async () => {
    telemetry.push(instrument(consumer, { tracerProvider: false, meterProvider, lagIntervalMs: 100 }));
    const name = await newStream();
    for (let i = 0; i < 3; i++) await firstValueFrom(producer.publish(name, `m${i}`));
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    subs.push(
      consumer
        .subscribe(name, { startAt: StartAt.earliest() })
        .pipe(
          consume(() => gate),
          commit(consumer, 'otel-lag', { count: 1 }),
        )
        .subscribe(),
    );
    const lagOf = async (): Promise<number | undefined> => {
      const g = await metric(METRIC.lag);
      const p = g?.dataPoints.find((x) => x.attributes[ATTR.destination] === name);
      return p?.value as number | undefined;
    };
    await expect.poll(lagOf, { timeout: 20_000 }).toBe(3);
    release();
    await expect.poll(lagOf, { timeout: 20_000 }).toBe(0);
  });

  it('injects no trace headers when tracing is off, with headers: false, or without instrument()', async () => {
    const name = await newStream();
    await firstValueFrom(producer.publish(name, 'plain'));
    const off = instrument(producer, { tracerProvider: false, meterProvider: false });
    await firstValueFrom(producer.publish(name, 'tracing off'));
    off.uninstrument();
    const noHeaders = instrument(producer, { tracerProvider, meterProvider: false, headers: false });
    await firstValueFrom(producer.publish(name, 'headers off'));
    noHeaders.uninstrument();
    const custom = instrument(producer, { tracerProvider, meterProvider: false, headers: { traceparent: 'x-trace', tracestate: 'x-state' } });
    await firstValueFrom(producer.publish(name, 'custom', { headers: { app: 'kept' } }));
    custom.uninstrument();
    const got = await lastValueFrom(consumer.subscribe(name, { startAt: StartAt.earliest() }).pipe(take(4), toArray()));
    for (const m of got.slice(0, 3)) {
      expect(Object.keys(m.headers).filter((h) => h.includes('trace'))).toEqual([]);
    }
    expect(Object.keys(got[3]?.headers ?? {}).sort()).toEqual(['app', 'reply', 'subject', 'x-trace'].sort());
    expect(text(got[3]?.headers['x-trace'])).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    // Only the two traced publishes made spans.
    expect(spans.getFinishedSpans().filter((s) => s.kind === SpanKind.PRODUCER)).toHaveLength(2);
  });

  it('rejects invalid options naming the field, and a hook that throws never breaks a publish', async () => {
    expect(() => instrument(producer, { lagIntervalMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => instrument(producer, { tracerProvider: {} as never })).toThrowError(/options.tracerProvider/);
    expect(() => instrument(producer, { bogus: true } as never)).toThrowError(/options.bogus/);
    const broken = {
      getTracer: () => ({
        startSpan: () => {
          throw new Error('tracer broke');
        },
      }),
    } as never;
    telemetry.push(instrument(producer, { tracerProvider: broken, meterProvider: false }));
    const name = await newStream();
    const ack = await firstValueFrom(producer.publish(name, 'still sent'));
    expect(ack.offset).toBe(0n);
  });
});

describe('rx-liftbridge/otel: publishTo() and publishBulk()', () => {
  const N = 5;

  async function tracedBatch(name: string, via: 'publishTo' | 'publishBulk'): Promise<void> {
    const inputs = Array.from({ length: N }, (_, i) => ({ value: `m${i}`, correlationId: `${via}-${i}`, partition: 0 }));
    const acks = await lastValueFrom(
      (via === 'publishTo' ? publishTo(producer, name, { maxInFlight: 4 })(inputs) : publishBulk(producer, inputs, { stream: name, maxInFlight: 4 })).pipe(
        toArray(),
      ),
    );
    expect(acks.map((a) => ('offset' in a ? a.offset : -1n))).toEqual(Array.from({ length: N }, (_, i) => BigInt(i)));

    const sends = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.PRODUCER && s.attributes[ATTR.destination] === name);
    expect(sends).toHaveLength(N);
    const byId = new Map(sends.map((s) => [s.attributes[ATTR.messageId], s]));
    for (let i = 0; i < N; i++) {
      expect(byId.get(`${via}-${i}`)?.attributes).toMatchObject({ [ATTR.system]: 'liftbridge', [ATTR.partition]: '0', [ATTR.offset]: String(i) });
    }
    // One trace per message.
    expect(new Set(sends.map((s) => s.spanContext().traceId)).size).toBe(N);

    // Another client continues each message's trace.
    const seen: Message[] = [];
    await lastValueFrom(
      consumer.subscribe(name, { startAt: StartAt.earliest() }).pipe(
        take(N),
        consume((m) => {
          seen.push(m);
        }),
        toArray(),
      ),
    );
    const processes = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER && s.attributes[ATTR.destination] === name);
    expect(processes).toHaveLength(N);
    for (const m of seen) {
      const send = byId.get(`${via}-${m.offset}`) as ReadableSpan;
      expect(text(m.headers.traceparent)).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
      const process = processes.find((p) => p.attributes[ATTR.offset] === m.offset.toString()) as ReadableSpan;
      expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
    }

    const byStream = (a: Record<string, unknown>): boolean => a[ATTR.destination] === name;
    expect(sum(await metric(METRIC.sent), byStream)).toBe(N);
    expect(sum(await metric(METRIC.operationDuration), byStream)).toBe(N);
    expect(sum(await metric(METRIC.inFlight), byStream)).toBe(0);
  }

  it('publishTo(): a PRODUCER span per message, continued by the consumer; metrics count each', async () => {
    telemetry.push(instrument(producer, { tracerProvider, meterProvider }), instrument(consumer, { tracerProvider, meterProvider: false }));
    await tracedBatch(await newStream(), 'publishTo');
  });

  it('publishBulk(): a PRODUCER span per message, continued by the consumer; metrics count each', async () => {
    telemetry.push(instrument(producer, { tracerProvider, meterProvider }), instrument(consumer, { tracerProvider, meterProvider: false }));
    await tracedBatch(await newStream(), 'publishBulk');
  });

  it('records the error on each failed message of publishBulk (failFast: false)', async () => {
    telemetry.push(instrument(producer, { tracerProvider, meterProvider }));
    const missing = uniqueName('otel-missing');
    const inputs = Array.from({ length: 3 }, (_, i) => ({ value: `x${i}`, stream: missing, partition: 0 }));
    const results = await lastValueFrom(publishBulk(producer, inputs, { failFast: false, retry: false }).pipe(toArray()));
    expect(results.map((r) => r.ok)).toEqual([false, false, false]);
    const sends = spans.getFinishedSpans().filter((s) => s.kind === SpanKind.PRODUCER && s.attributes[ATTR.destination] === missing);
    expect(sends).toHaveLength(3);
    for (const s of sends) {
      expect(s.status.code).toBe(SpanStatusCode.ERROR);
      expect(s.attributes[ATTR.errorType]).toBe('NO_SUCH_STREAM');
    }
    expect(sum(await metric(METRIC.operationDuration), (a) => a[ATTR.destination] === missing && a[ATTR.errorType] === 'NO_SUCH_STREAM')).toBe(3);
    expect(sum(await metric(METRIC.inFlight), (a) => a[ATTR.destination] === missing)).toBe(0);
  });

  it('adds no trace headers when tracing is off', async () => {
    telemetry.push(instrument(producer, { tracerProvider: false, meterProvider }));
    const name = await newStream();
    await lastValueFrom(publishTo(producer, name)(['a', 'b']).pipe(toArray()));
    const seen = await lastValueFrom(consumer.subscribe(name, { startAt: StartAt.earliest() }).pipe(take(2), toArray()));
    expect(seen.map((m) => m.headers.traceparent)).toEqual([undefined, undefined]);
    expect(sum(await metric(METRIC.sent), (a) => a[ATTR.destination] === name)).toBe(2);
  });
});
