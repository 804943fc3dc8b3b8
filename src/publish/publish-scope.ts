/**
 * The instrumentation of one `publish()`: asks the client's `publishStarted` hook for a scope,
 * adds the headers it wants (W3C trace context), and reports the outcome once. Hooks that throw
 * are logged and ignored.
 *
 * Internal (not exported from the package root).
 */
import type { Logger } from '../internal/logger.js';
import type { ClientInstrumentation, PublishScope } from '../observability/instrumentation-types.js';
import { nextCorrelationId } from './correlation-id.js';
import type { Ack, Bytes, PublishMessage, Sent } from './types.js';

interface Sink {
  next(value: unknown): void;
  error(error: unknown): void;
  complete(): void;
  readonly closed: boolean;
}

/** A publish seen by the hooks: the message to send and the sink that reports its outcome. */
export interface InstrumentedPublish {
  readonly message: PublishMessage;
  observe(sink: Sink): Sink;
  end(outcome: { readonly ack?: Ack | Sent; readonly error?: unknown }): void;
}

export function publishScope(hooks: ClientInstrumentation, logger: Logger, input: PublishMessage, stream: string): InstrumentedPublish | undefined {
  const correlationId = input.correlationId ?? nextCorrelationId();
  const value = input.value as Bytes;
  let scope: PublishScope | undefined;
  try {
    scope = hooks.publishStarted?.({ stream, partition: input.partition, correlationId, valueBytes: value.length });
  } catch (e) {
    logger.error('instrumentation publishStarted threw', { stream, error: String(e) });
  }
  if (scope === undefined) return undefined;
  const s = scope;
  let headers = input.headers;
  const extra = s.headers;
  if (extra !== undefined && Object.keys(extra).length > 0) headers = { ...extra, ...input.headers };
  const message: PublishMessage = { ...input, correlationId, ...(headers === undefined ? {} : { headers }) };
  let ended = false;
  const end = (outcome: { readonly ack?: Ack | Sent; readonly error?: unknown }): void => {
    if (ended) return;
    ended = true;
    try {
      s.end(outcome);
    } catch (e) {
      logger.error('instrumentation publish end threw', { stream, correlationId, error: String(e) });
    }
  };
  return {
    message,
    end,
    observe: (sink) => ({
      next: (v) => {
        end({ ack: v as Ack | Sent });
        sink.next(v);
      },
      error: (e) => {
        end({ error: e });
        sink.error(e);
      },
      complete: () => sink.complete(),
      get closed() {
        return sink.closed;
      },
    }),
  };
}
