/**
 * `rx-liftbridge/otel`: OpenTelemetry traces and metrics for a client, following the OTel
 * messaging semantic conventions (`messaging.system = "liftbridge"`). Enable with one call:
 * `instrument(lift, { tracerProvider, meterProvider })`. Nothing here loads unless this subpath is
 * imported; `@opentelemetry/api` is an optional peer dependency.
 *
 * @packageDocumentation
 */
import {
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type Link,
  type MeterProvider,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  type UpDownCounter,
  context,
  createTraceState,
  isSpanContextValid,
  metrics,
  trace,
} from '@opentelemetry/api';
import type { Subscription } from 'rxjs';
import {
  type ConsumeScope,
  InvalidArgumentError,
  type LiftbridgeClient,
  LiftbridgeError,
  type Message,
  type PartitionLag,
  type PublishScope,
  type PublishStart,
  setInstrumentation,
} from '../index.js';

/** The instrumentation scope name spans and metrics are reported under. */
export const INSTRUMENTATION_NAME = 'rx-liftbridge';

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /**
   * Where spans go. `false` turns tracing off (no spans, no trace headers).
   * @defaultValue the global tracer provider (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider | false;
  /**
   * Where metrics go. `false` turns metrics off.
   * @defaultValue the global meter provider (`metrics.getMeterProvider()`)
   */
  meterProvider?: MeterProvider | false;
  /**
   * Names of the message headers that carry the W3C trace context, or `false` to neither
   * inject nor extract it (consumer spans then start new traces).
   * @defaultValue `{ traceparent: 'traceparent', tracestate: 'tracestate' }`
   */
  headers?: { readonly traceparent?: string; readonly tracestate?: string } | false;
  /**
   * How often the consumer lag gauge is refreshed (ms; one `lag$()` look, one FetchMetadata);
   * 0 turns the gauge off.
   * @defaultValue 10000
   */
  lagIntervalMs?: number;
}

/** What {@link instrument} returns: call `uninstrument()` to stop (the client's close does too). */
export interface ClientTelemetry {
  uninstrument(): void;
}

/** Attribute names used (OTel messaging semantic conventions, plus `messaging.liftbridge.*`). */
export const ATTR = Object.freeze({
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  consumerGroup: 'messaging.consumer.group.name',
  offset: 'messaging.liftbridge.message.offset',
  errorType: 'error.type',
  rpc: 'rpc.method',
});

/** Metric names. */
export const METRIC = Object.freeze({
  operationDuration: 'messaging.client.operation.duration',
  sent: 'messaging.client.sent.messages',
  consumed: 'messaging.client.consumed.messages',
  processDuration: 'messaging.process.duration',
  inFlight: 'liftbridge.client.publish.in_flight',
  retries: 'liftbridge.client.retries',
  reconnects: 'liftbridge.client.reconnects',
  lag: 'liftbridge.consumer.lag',
});

const SYSTEM = 'liftbridge';
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const decoder = new TextDecoder();

function errorType(error: unknown): string {
  if (error instanceof LiftbridgeError) return error.code;
  if (error instanceof Error) return error.name;
  return '_OTHER';
}

function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The remote span context carried in a message's headers, if any (and valid). */
function extract(m: Message, parentName: string, stateName: string): SpanContext | undefined {
  const raw = m.headers[parentName];
  if (raw === undefined) return undefined;
  const match = TRACEPARENT.exec(decoder.decode(raw).trim());
  if (match === null || match[1] === 'ff') return undefined;
  const state = m.headers[stateName];
  const sc: SpanContext = {
    traceId: match[2] as string,
    spanId: match[3] as string,
    traceFlags: Number.parseInt(match[4] as string, 16) & 0x01,
    isRemote: true,
    ...(state === undefined ? {} : { traceState: createTraceState(decoder.decode(state)) }),
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

function seconds(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}

/**
 * Instruments a client with OpenTelemetry:
 *
 * - a PRODUCER span `send <stream>` per message of `publish()`, `publishTo()` and `publishBulk()`,
 *   from subscribe (acceptance into the pipeline) to the ack (errors recorded),
 *   whose W3C trace context is written into the message headers (`traceparent`, `tracestate`);
 * - a CONSUMER span `process <stream>` per message processed by `consume()`, around the handler,
 *   continuing the producer's trace read from those headers (child of it, and linked);
 * - metrics: `messaging.client.operation.duration` (publish, s), `messaging.client.sent.messages`,
 *   `messaging.client.consumed.messages`, `messaging.process.duration`,
 *   `liftbridge.client.publish.in_flight`, `liftbridge.client.retries`,
 *   `liftbridge.client.reconnects` and the observable gauge `liftbridge.consumer.lag`.
 *
 * One set of instrumentation per client (a second call replaces the first). Clients that are not
 * instrumented pay nothing. `publishTo()` and `publishBulk()` are traced like `publish()`: one
 * PRODUCER span per input, from its acceptance into the pipeline to its ack or error.
 *
 * @throws {InvalidArgumentError} for a value that is not a client, or invalid options (the field is named).
 * @example
 * ```ts
 * import { instrument } from 'rx-liftbridge/otel';
 * const telemetry = instrument(lift, { tracerProvider, meterProvider });
 * // ...
 * telemetry.uninstrument();
 * ```
 */
export function instrument(client: LiftbridgeClient, options: InstrumentOptions = {}): ClientTelemetry {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'expected an object');
  const o = options;
  for (const k of Object.keys(o)) {
    if (!['tracerProvider', 'meterProvider', 'headers', 'lagIntervalMs'].includes(k)) throw new InvalidArgumentError(`options.${k}`, 'unknown option');
  }
  if (o.tracerProvider !== undefined && o.tracerProvider !== false && typeof o.tracerProvider?.getTracer !== 'function') {
    throw new InvalidArgumentError('options.tracerProvider', 'expected a TracerProvider (with getTracer()) or false');
  }
  if (o.meterProvider !== undefined && o.meterProvider !== false && typeof o.meterProvider?.getMeter !== 'function') {
    throw new InvalidArgumentError('options.meterProvider', 'expected a MeterProvider (with getMeter()) or false');
  }
  const lagIntervalMs = o.lagIntervalMs ?? 10_000;
  if (typeof lagIntervalMs !== 'number' || !Number.isInteger(lagIntervalMs) || lagIntervalMs < 0) {
    throw new InvalidArgumentError('options.lagIntervalMs', `expected a whole number of ms >= 0, got ${String(lagIntervalMs)}`);
  }
  let parentHeader: string | undefined = 'traceparent';
  let stateHeader = 'tracestate';
  if (o.headers === false) parentHeader = undefined;
  else if (o.headers !== undefined) {
    for (const k of ['traceparent', 'tracestate'] as const) {
      const v = o.headers[k];
      if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw new InvalidArgumentError(`options.headers.${k}`, 'expected a non-empty string');
    }
    parentHeader = o.headers.traceparent ?? parentHeader;
    stateHeader = o.headers.tracestate ?? stateHeader;
  }

  const tracer: Tracer | undefined = o.tracerProvider === false ? undefined : (o.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  const meter = o.meterProvider === false ? undefined : (o.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME);
  const m = meter === undefined ? undefined : instruments(meter);

  const publishStarted = (p: PublishStart): PublishScope => {
    const start = process.hrtime.bigint();
    const attributes: Attributes = {
      [ATTR.system]: SYSTEM,
      [ATTR.operationName]: 'send',
      [ATTR.operationType]: 'send',
      [ATTR.destination]: p.stream,
    };
    if (p.partition !== undefined) attributes[ATTR.partition] = String(p.partition);
    let span: Span | undefined;
    let headers: Record<string, string> | undefined;
    if (tracer !== undefined) {
      span = tracer.startSpan(`send ${p.stream}`, {
        kind: SpanKind.PRODUCER,
        attributes: { ...attributes, [ATTR.messageId]: p.correlationId, [ATTR.bodySize]: p.valueBytes },
      });
      const sc = span.spanContext();
      if (parentHeader !== undefined && isSpanContextValid(sc)) {
        headers = { [parentHeader]: formatTraceparent(sc) };
        const state = sc.traceState?.serialize();
        if (state !== undefined && state.length > 0) headers[stateHeader] = state;
      }
    }
    m?.inFlight.add(1, { [ATTR.system]: SYSTEM, [ATTR.destination]: p.stream });
    return {
      ...(headers === undefined ? {} : { headers }),
      end: ({ ack, error }) => {
        m?.inFlight.add(-1, { [ATTR.system]: SYSTEM, [ATTR.destination]: p.stream });
        const final: Attributes = { ...attributes };
        if (ack !== undefined) final[ATTR.partition] = String(ack.partition);
        if (error !== undefined) final[ATTR.errorType] = errorType(error);
        else if (ack === undefined) final[ATTR.errorType] = 'cancelled';
        m?.duration.record(seconds(start), final);
        if (ack !== undefined) m?.sent.add(1, final);
        if (span !== undefined) {
          if (ack !== undefined) {
            span.setAttribute(ATTR.partition, String(ack.partition));
            if ('offset' in ack) span.setAttribute(ATTR.offset, ack.offset.toString());
          }
          if (error !== undefined) {
            if (error instanceof Error) span.recordException(error);
            span.setAttribute(ATTR.errorType, errorType(error));
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          } else if (ack === undefined) {
            span.setAttribute(ATTR.errorType, 'cancelled');
          }
          span.end();
        }
      },
    };
  };

  const consumeStarted = (msg: Message): ConsumeScope => {
    const start = process.hrtime.bigint();
    const attributes: Attributes = {
      [ATTR.system]: SYSTEM,
      [ATTR.operationName]: 'process',
      [ATTR.operationType]: 'process',
      [ATTR.destination]: msg.stream,
      [ATTR.partition]: String(msg.partition),
    };
    let span: Span | undefined;
    let ctx: Context = context.active();
    if (tracer !== undefined) {
      const remote = parentHeader === undefined ? undefined : extract(msg, parentHeader, stateHeader);
      const parent = remote === undefined ? ctx : trace.setSpanContext(ROOT_CONTEXT, remote);
      const links: Link[] = remote === undefined ? [] : [{ context: remote }];
      span = tracer.startSpan(
        `process ${msg.stream}`,
        {
          kind: SpanKind.CONSUMER,
          links,
          attributes: {
            ...attributes,
            [ATTR.offset]: msg.offset.toString(),
            [ATTR.bodySize]: msg.value.length,
          },
        },
        parent,
      );
      ctx = trace.setSpan(parent, span);
    }
    return {
      run: (fn) => (span === undefined ? fn() : context.with(ctx, fn)),
      end: (error) => {
        const final: Attributes = error === undefined ? attributes : { ...attributes, [ATTR.errorType]: errorType(error) };
        m?.processDuration.record(seconds(start), final);
        m?.consumed.add(1, final);
        if (span !== undefined) {
          if (error !== undefined) {
            if (error instanceof Error) span.recordException(error);
            span.setAttribute(ATTR.errorType, errorType(error));
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
          }
          span.end();
        }
      },
    };
  };

  // With tracing and metrics both off there is nothing to record: install no hooks at all.
  const off = setInstrumentation(client, tracer === undefined && m === undefined ? {} : { publishStarted, consumeStarted });
  const subscriptions: Subscription[] = [];
  let latestLag: readonly PartitionLag[] = [];
  const observeLag = (result: { observe(value: number, attributes?: Attributes): void }): void => {
    for (const r of latestLag) {
      if (r.lag === undefined) continue;
      result.observe(Number(r.lag), {
        [ATTR.system]: SYSTEM,
        [ATTR.destination]: r.stream,
        [ATTR.partition]: String(r.partition),
        ...(r.groupId === undefined ? {} : { [ATTR.consumerGroup]: r.groupId }),
      });
    }
  };
  if (m !== undefined) {
    const disconnected = new Set<string>();
    subscriptions.push(
      client.status$.subscribe((s) => {
        if (s.type === 'reconnecting') m.retries.add(1, { [ATTR.system]: SYSTEM, [ATTR.rpc]: s.rpc, [ATTR.errorType]: s.error.code });
        else if (s.type === 'disconnected') disconnected.add(s.address);
        else if (s.type === 'connected' && disconnected.delete(s.address)) m.reconnects.add(1, { [ATTR.system]: SYSTEM, kind: 'connection' });
        else if (s.type === 'resubscribed') m.reconnects.add(1, { [ATTR.system]: SYSTEM, kind: 'subscription', [ATTR.destination]: s.stream });
      }),
    );
    if (lagIntervalMs > 0) {
      m.lag.addCallback(observeLag);
      subscriptions.push(
        client.lag$({ intervalMs: lagIntervalMs }).subscribe({
          next: (rows) => {
            latestLag = rows;
          },
          error: () => undefined,
        }),
      );
    }
  }
  let done = false;
  const uninstrument = (): void => {
    if (done) return;
    done = true;
    off();
    m?.lag.removeCallback(observeLag);
    for (const s of subscriptions) s.unsubscribe();
  };
  return { uninstrument };
}

interface Instruments {
  readonly duration: Histogram;
  readonly processDuration: Histogram;
  readonly sent: Counter;
  readonly consumed: Counter;
  readonly inFlight: UpDownCounter;
  readonly retries: Counter;
  readonly reconnects: Counter;
  readonly lag: ReturnType<ReturnType<MeterProvider['getMeter']>['createObservableGauge']>;
}

function instruments(meter: ReturnType<MeterProvider['getMeter']>): Instruments {
  return {
    duration: meter.createHistogram(METRIC.operationDuration, { unit: 's', description: 'Duration of publish operations, from subscribe to ack or error.' }),
    processDuration: meter.createHistogram(METRIC.processDuration, { unit: 's', description: 'Duration of consume() handlers.' }),
    sent: meter.createCounter(METRIC.sent, { unit: '{message}', description: 'Messages the broker acknowledged (or that were sent, with ackPolicy none).' }),
    consumed: meter.createCounter(METRIC.consumed, {
      unit: '{message}',
      description: 'Messages processed by consume() (error.type set when the handler failed).',
    }),
    inFlight: meter.createUpDownCounter(METRIC.inFlight, { unit: '{message}', description: 'publish() calls waiting for their outcome.' }),
    retries: meter.createCounter(METRIC.retries, { unit: '{retry}', description: 'Retries of RPCs (status$ reconnecting events), by rpc.method.' }),
    reconnects: meter.createCounter(METRIC.reconnects, {
      unit: '{reconnect}',
      description: 'Connections made again after a disconnect, and partition subscriptions set up again.',
    }),
    lag: meter.createObservableGauge(METRIC.lag, { unit: '{message}', description: 'Messages stored but not yet processed, per partition subscription.' }),
  };
}
