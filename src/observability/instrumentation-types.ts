/**
 * The types of the client's instrumentation hooks (installed with `setInstrumentation()`), apart
 * from the functions so that the core can name them without an import cycle.
 */
import type { Ack, Bytes, Sent } from '../publish/types.js';
import type { Message } from '../subscribe/types.js';

/** What a publish hook learns when a `publish()` is subscribed (or a pipeline accepts an input). */
export interface PublishStart {
  readonly stream: string;
  /** The partition asked for, if any (otherwise the partitioner decides). */
  readonly partition: number | undefined;
  /** The correlation id the message is sent with (the message id). */
  readonly correlationId: string;
  /** Size of the value in bytes (strings: UTF-16 code units, an estimate). */
  readonly valueBytes: number;
}

/** One publish in flight, as a hook sees it. */
export interface PublishScope {
  /**
   * Headers to add to the message (e.g. W3C `traceparent`), or undefined for none. Headers the
   * application set with the same names win.
   */
  readonly headers?: Readonly<Record<string, Bytes>>;
  /** The outcome: an ack or receipt, or the error. Called exactly once (also on unsubscribe, with neither). */
  end(outcome: { readonly ack?: Ack | Sent; readonly error?: unknown }): void;
}

/** One processed message in `consume()`, as a hook sees it. */
export interface ConsumeScope {
  /** Runs the handler (e.g. inside a tracing context); must call `fn` exactly once and return its result. */
  run<T>(fn: () => T): T;
  /** The handler ended: without `error` it succeeded. Called at most once. */
  end(error?: unknown): void;
}

/**
 * Instrumentation events of a client, installed with {@link setInstrumentation}. Every hook is
 * optional; a hook that throws is logged and ignored (it never breaks publishing or consuming).
 * `rx-liftbridge/otel` builds OpenTelemetry spans and metrics on these.
 */
export interface ClientInstrumentation {
  /**
   * A `publish()` was subscribed, or `publishTo()`/`publishBulk()` accepted an input into its
   * pipeline: the message is about to be sent.
   */
  publishStarted?(start: PublishStart): PublishScope | undefined;
  /** `consume()` is about to run its handler for `message`. */
  consumeStarted?(message: Message): ConsumeScope | undefined;
}
