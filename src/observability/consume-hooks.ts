/**
 * The consume side of the instrumentation hooks: which hooks a delivered message is consumed with,
 * and running a handler inside its consume scope. Kept apart from `setInstrumentation()` (which
 * looks up a client's core) so that `consume()` reaches nothing of the Node transport: the browser
 * entry uses `consume()` too.
 *
 * Internal: not exported from the package root.
 */
import type { Logger } from '../internal/logger.js';
import type { Message } from '../subscribe/types.js';
import type { ClientInstrumentation, ConsumeScope } from './instrumentation-types.js';

interface Tag {
  readonly hooks: ClientInstrumentation;
  readonly logger: Logger;
}

/** The consume hooks of delivered messages (set only while instrumented). */
const consumeHooks = new WeakMap<object, Tag>();
/** Whether any message was ever tagged: false keeps consume() on its fast path. */
let tagged = false;

/** Whether any message was ever tagged (consume()'s fast path: false means no lookups at all). @internal */
export function instrumentationActive(): boolean {
  return tagged;
}

/** Records the hooks a delivered message is consumed with. @internal */
export function tagMessage(message: Message, hooks: ClientInstrumentation, logger: Logger): void {
  tagged = true;
  consumeHooks.set(message, { hooks, logger });
}

/**
 * Runs `handler(message)` inside the message's consume scope when its client is instrumented,
 * else just runs it. A throwing hook is logged and ignored; `handler` runs exactly once and its
 * result or exception is passed on. `done` is called with the scope's `end`, or undefined. @internal
 */
export function runInstrumented<T>(message: Message, handler: () => T): { readonly result: T; readonly end: ((error?: unknown) => void) | undefined } {
  const tag = tagged ? consumeHooks.get(message) : undefined;
  if (tag?.hooks.consumeStarted === undefined) return { result: handler(), end: undefined };
  const { hooks, logger } = tag;
  const fields = { stream: message.stream, partition: message.partition, offset: String(message.offset) };
  let scope: ConsumeScope | undefined;
  try {
    scope = hooks.consumeStarted?.(message);
  } catch (e) {
    logger.error('instrumentation consumeStarted threw', { ...fields, error: String(e) });
  }
  if (scope === undefined) return { result: handler(), end: undefined };
  const s = scope;
  let called = false;
  let threw = false;
  let error: unknown;
  let result: T | undefined;
  const call = (): T => {
    called = true;
    try {
      result = handler();
    } catch (e) {
      threw = true;
      error = e;
    }
    return result as T;
  };
  try {
    s.run(call);
  } catch (e) {
    logger.error('instrumentation run threw', { ...fields, error: String(e) });
  }
  if (!called) call();
  let ended = false;
  const end = (e?: unknown): void => {
    if (ended) return;
    ended = true;
    try {
      s.end(e);
    } catch (x) {
      logger.error('instrumentation end threw', { ...fields, error: String(x) });
    }
  };
  if (threw) {
    end(error);
    throw error;
  }
  return { result: result as T, end };
}
