/**
 * The worked example of docs/observability.md: a producer service and a consumer service, each
 * instrumented with rx-liftbridge/otel, share one trace per message; the consumer's lag is read
 * with lag$() while it is held back and after it caught up; the client logs through a pino-shaped
 * logger. Spans and metrics go to the OTel SDK's in-memory exporters so the example can print them.
 *
 *   LIFTBRIDGE_BROKERS=127.0.0.1:9292 node --import tsx examples/observability/trace-and-lag.ts
 */
import { SpanKind } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { filter, firstValueFrom, take } from 'rxjs';
import { StartAt, commit, connect, consume, consoleLogger } from '../../src/index.js';
import { instrument } from '../../src/otel/index.js';

class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const brokers = (process.env.LIFTBRIDGE_BROKERS ?? '127.0.0.1:9292').split(',');
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const reader = new OnDemandReader();
const meterProvider = new MeterProvider({ readers: [reader] });

// Two services: warnings and errors of each client go to the console.
const producer = connect({ brokers, logger: consoleLogger(console, { level: 'warn' }) });
const consumer = connect({ brokers, logger: consoleLogger(console, { level: 'warn' }) });
instrument(producer, { tracerProvider, meterProvider });
instrument(consumer, { tracerProvider, meterProvider, lagIntervalMs: 200 });
const stream = `example-observability-${Date.now()}`;

try {
  await firstValueFrom(producer.createStream({ name: stream }));
  for (let i = 0; i < 5; i++) await firstValueFrom(producer.publish(stream, JSON.stringify({ order: i })));

  // The consumer is held back until `release()`.
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const work = consumer
    .subscribe(stream, { startAt: StartAt.earliest() })
    .pipe(
      consume(() => held),
      commit(consumer, 'example-indexer', { count: 1, timeMs: 200 }),
    )
    .subscribe();

  const behind = await firstValueFrom(consumer.lag$({ stream, intervalMs: 200 }).pipe(filter((rows) => rows[0]?.lag === 5n)));
  console.log(`held back: lag ${behind[0]?.lag} (newest offset ${behind[0]?.newestOffset}, processed ${behind[0]?.processedOffset})`);
  release();
  const caughtUp = await firstValueFrom(
    consumer.lag$({ stream, intervalMs: 200 }).pipe(
      filter((rows) => rows[0]?.lag === 0n && rows[0]?.committedLag === 0n),
      take(1),
    ),
  );
  console.log(`caught up: lag ${caughtUp[0]?.lag}, committed offset ${caughtUp[0]?.committedOffset}`);
  work.unsubscribe();

  const finished = spans.getFinishedSpans();
  const sends = finished.filter((s) => s.kind === SpanKind.PRODUCER);
  const processes = finished.filter((s) => s.kind === SpanKind.CONSUMER);
  const joined = processes.filter((p) =>
    sends.some((s) => s.spanContext().traceId === p.spanContext().traceId && p.parentSpanContext?.spanId === s.spanContext().spanId),
  );
  console.log(`spans: ${sends.length} send, ${processes.length} process, ${joined.length} process spans in their message's trace`);

  const { resourceMetrics } = await reader.collect();
  for (const metric of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
    const points = metric.dataPoints.filter((p) => p.attributes['messaging.destination.name'] === stream);
    const total = points.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : (p.value as { count: number }).count), 0);
    if (points.length > 0) console.log(`metric ${metric.descriptor.name}: ${total}`);
  }
  await firstValueFrom(producer.deleteStream(stream));
} finally {
  await Promise.all([producer.close(), consumer.close()]);
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
}
