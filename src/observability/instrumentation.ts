/**
 * The client's instrumentation hook points: what `rx-liftbridge/otel` (or any tracer) plugs into.
 * The core calls them at the entry points only (`publish()` when subscribed, `consume()` around
 * each handler); with nothing installed each costs one property read and a branch.
 */
import type { ClientRef } from '../core/client-ref.js';
import { coreOf } from '../core/internal-access.js';
import { InvalidArgumentError } from '../errors/errors.js';
import { describe } from '../internal/validate.js';
import type { ClientInstrumentation } from './instrumentation-types.js';

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
