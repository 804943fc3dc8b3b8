/**
 * Source credit of a publish pipeline: takes inputs from the application's source only while the
 * pipeline has credit (fewer than `maxInFlight` unsettled, less than `maxQueuedBytes` queued, no
 * failFast failure). Iterables and AsyncIterables are pulled on demand (one `next()` per credit);
 * an Observable cannot be paused, so what it pushes without credit waits in a queue bounded by
 * `maxBuffered`, past which the pipeline fails with a {@link BufferOverflowError}. Also keeps how
 * the source ended: inputs taken or buffered before the end still go out, and a source error waits
 * for their outcomes.
 *
 * Internal (not exported from the package root).
 */
import { type Subscription, isObservable } from 'rxjs';
import { BufferOverflowError, InvalidArgumentError } from '../errors/errors.js';
import type { PublishInput, PublishSource } from './types.js';

export type { PublishSource } from './types.js';

/** How a source ended. */
export type SourceEnd = { readonly type: 'complete' } | { readonly type: 'error'; readonly error: unknown };
const SOURCE_COMPLETE: SourceEnd = Object.freeze({ type: 'complete' });

/** What the credit needs of its pipeline. */
export interface SourceConsumer {
  /** The pipeline stopped (unsubscribed, failed or done): nothing more is taken or buffered. */
  isStopped(): boolean;
  /** A failFast failure is known: nothing more is taken (buffered inputs are dropped with the pipeline). */
  isFailing(): boolean;
  /** Whether one more input may be taken now (`maxInFlight`, `maxQueuedBytes`). */
  hasCredit(): boolean;
  /** Takes one input (it gets exactly one outcome). */
  take(input: PublishInput): void;
  /** The Observable source outran `maxBuffered`: end the pipeline with this error. */
  overflow(error: BufferOverflowError): void;
  /** The source ended, or pulling stopped: the pipeline may be done. */
  check(): void;
  /** Logs a failure of the application's code that must not break the pipeline. */
  logError(message: string, fields: Record<string, unknown>): void;
}

export class SourceCredit {
  /**
   * How the source ended; undefined while it is open. Only an open source is asked for more;
   * inputs already queued from it go out either way, and its error waits for their outcomes.
   */
  end: SourceEnd | undefined;
  /** Inside pull(): re-entrant calls return at once, and the pipeline is not done meanwhile. */
  pulling = false;
  private readonly buffered: PublishInput[] = [];
  private bufferedHead = 0;
  /** Inside the Observable source's subscribe(): what it pushes now is a synchronous burst. */
  private subscribing = false;
  private asyncPending = false;
  private sourceSub: Subscription | undefined;
  private iterator: Iterator<PublishInput> | undefined;
  private asyncIterator: AsyncIterator<PublishInput> | undefined;

  constructor(
    private readonly consumer: SourceConsumer,
    private readonly limits: { readonly maxInFlight: number; readonly maxBuffered: number },
  ) {}

  /** Inputs pushed by an Observable source and not taken yet. */
  get hasBuffered(): boolean {
    return this.bufferedHead < this.buffered.length;
  }

  start(source: PublishSource): void {
    if (isObservable(source)) {
      this.subscribing = true;
      this.sourceSub = source.subscribe({
        next: (input) => this.onValue(input),
        error: (error: unknown) => this.onError(error),
        complete: () => {
          this.end = SOURCE_COMPLETE;
          this.consumer.check();
        },
      });
      this.subscribing = false;
      return;
    }
    try {
      if (typeof (source as AsyncIterable<PublishInput>)[Symbol.asyncIterator] === 'function') {
        this.asyncIterator = (source as AsyncIterable<PublishInput>)[Symbol.asyncIterator]();
      } else if (typeof (source as Iterable<PublishInput>)[Symbol.iterator] === 'function') {
        this.iterator = (source as Iterable<PublishInput>)[Symbol.iterator]();
      } else {
        throw new InvalidArgumentError('source', 'expected an Observable, an Iterable or an AsyncIterable of messages');
      }
    } catch (error) {
      this.onError(error);
      return;
    }
    this.pull();
  }

  /** Takes inputs while there is credit. Re-entrant calls return at once; the outer loop continues. */
  pull(): void {
    const c = this.consumer;
    if (this.pulling || c.isStopped()) return;
    this.pulling = true;
    try {
      // Queued inputs were accepted from the source before it ended (completed or failed): they
      // still go out, so that each gets its outcome before the source's error is passed on.
      while (!c.isStopped() && !c.isFailing() && c.hasCredit()) {
        const sourceOpen = this.end === undefined;
        if (this.bufferedHead < this.buffered.length) {
          const input = this.buffered[this.bufferedHead] as PublishInput;
          this.buffered[this.bufferedHead++] = undefined as unknown as PublishInput;
          if (this.bufferedHead === this.buffered.length) {
            this.buffered.length = 0;
            this.bufferedHead = 0;
          }
          c.take(input);
        } else if (this.iterator !== undefined && sourceOpen) {
          const r = this.iterator.next();
          if (r.done === true) {
            this.end = SOURCE_COMPLETE;
            break;
          }
          c.take(r.value);
        } else if (this.asyncIterator !== undefined && sourceOpen) {
          if (this.asyncPending) break;
          this.asyncPending = true;
          this.asyncIterator.next().then(
            (r) => this.onAsyncNext(r),
            (error: unknown) => {
              this.asyncPending = false;
              this.onError(error);
            },
          );
          break;
        } else {
          break;
        }
      }
    } catch (error) {
      this.end = { type: 'error', error };
    } finally {
      this.pulling = false;
    }
    c.check();
  }

  /**
   * Stops the source: unsubscribes an Observable; tells a still-open iterator we stop (not after
   * it ended or failed, as for...of does). The source's teardown is the application's code: its
   * failure is logged, never thrown (the subscriber would never hear how the pipeline ended).
   */
  close(): void {
    const sourceSub = this.sourceSub;
    this.sourceSub = undefined;
    try {
      sourceSub?.unsubscribe();
    } catch (error) {
      this.consumer.logError("publish: the source Observable's teardown threw; ignored", { error });
    }
    if (this.end !== undefined) return;
    try {
      this.iterator?.return?.();
    } catch (error) {
      this.consumer.logError("publish: the source iterator's return() threw; ignored", { error });
    }
    try {
      const closing: unknown = this.asyncIterator?.return?.();
      if (typeof (closing as PromiseLike<unknown> | undefined)?.then === 'function') Promise.resolve(closing).catch(() => undefined);
    } catch (error) {
      this.consumer.logError("publish: the source async iterator's return() threw; ignored", { error });
    }
  }

  private onValue(input: PublishInput): void {
    const c = this.consumer;
    if (c.isStopped() || c.isFailing()) return;
    if (c.hasCredit() && this.bufferedHead === this.buffered.length && !this.pulling) {
      c.take(input);
      return;
    }
    if (this.buffered.length - this.bufferedHead >= this.limits.maxBuffered) {
      c.overflow(this.overflowError());
      return;
    }
    this.buffered.push(input);
  }

  /**
   * The bound was hit: say why, and what to do. A burst pushed while the source was being
   * subscribed is synchronous (`range()`, `from(array)`, `of(...)`): nothing can slow it down.
   */
  private overflowError(): BufferOverflowError {
    const { maxInFlight, maxBuffered } = this.limits;
    const waiting = `${maxInFlight} inputs were in flight (maxInFlight) and ${maxBuffered} waiting (maxBuffered)`;
    const pulled = 'pass the array or iterable itself, which is pulled on demand: publishTo(client, stream)(iterable) or publishBulk(client, iterable)';
    if (this.subscribing) {
      return new BufferOverflowError(
        `publish: the Observable source pushed its inputs synchronously (like range(), from(array) or of(...)) faster than they can be sent: ${waiting} and it pushed one more. An Observable cannot be paused; ${pulled}, or set maxBuffered to at least the size of the burst (memory grows with it).`,
      );
    }
    return new BufferOverflowError(
      `publish: the Observable source outran the broker: ${waiting} and it pushed one more. An Observable cannot be paused; slow the source down, ${pulled}, or raise maxBuffered.`,
    );
  }

  private onError(error: unknown): void {
    if (this.consumer.isStopped()) return;
    this.end = { type: 'error', error };
    // Inputs still queued were accepted: send them (credit permitting); the error waits for their outcomes.
    this.pull();
  }

  private onAsyncNext(r: IteratorResult<PublishInput>): void {
    this.asyncPending = false;
    const c = this.consumer;
    if (c.isStopped()) return;
    if (r.done === true) {
      this.end = SOURCE_COMPLETE;
      c.check();
      return;
    }
    if (!c.isFailing()) c.take(r.value);
    this.pull();
  }
}
