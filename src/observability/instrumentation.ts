/**
 * The client's instrumentation hook points: what `rx-liftbridge/otel` (or any tracer) plugs into.
 * The core calls them at the entry points only (`publish()` when subscribed, `consume()` around
 * each handler); with nothing installed each costs one property read and a branch.
 */
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { InvalidArgumentError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import { describe } from '../internal/validate.js';
import type { Message } from '../subscribe/types.js';
import type { ClientInstrumentation, ConsumeScope } from './instrumentation-types.js';

export type { ClientInstrumentation, ConsumeScope, PublishScope, PublishStart } from './instrumentation-types.js';

/**
 * Installs (or with `undefined` removes) a client's instrumentation hooks; one set per client, the
 * latest call wins. Returns a function that removes these hooks again (if still installed).
 * Messages already delivered keep the hooks of their subscription.
 *
 * @throws {InvalidArgumentError} for something that is not a client (`client`) or not an object of functions (`hooks`).
 * @example
 * ```ts
 * const off = setInstrumentation(lift, { publishStarted: (p) => ({ end: ({ error }) => console.log(p.correlationId, error) }) });
 * off();
 * ```
 */
export function setInstrumentation(client: ClientRef, hooks: ClientInstrumentation | undefined): () => void {
  const core = coreOf(client);
  if (hooks !== undefined) {
    if (typeof hooks !== 'object' || hooks === null) throw new InvalidArgumentError('hooks', `expected an object of hook functions, got ${describe(hooks)}`);
    for (const k of ['publishStarted', 'consumeStarted'] as const) {
      const f = (hooks as Record<string, unknown>)[k];
      if (f !== undefined && typeof f !== 'function') throw new InvalidArgumentError(`hooks.${k}`, `expected a function, got ${describe(f)}`);
    }
  }
  if (hooks === undefined) installed.delete(core);
  else installed.set(core, hooks);
  return () => {
    if (installed.get(core) === hooks) installed.delete(core);
  };
}

/** The hooks installed per client core (kept here, not on the core, so the core names none of this). */
const installed = new WeakMap<object, ClientInstrumentation>();

/** The hooks installed on a client's core, if any. @internal */
export function instrumentationOf(core: object): ClientInstrumentation | undefined {
  return installed.get(core);
}

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
