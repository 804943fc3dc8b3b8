/**
 * The link from a public client object to its {@link ClientCore}. Public entry points that take a
 * client (`publish(lift, ...)`, `commit(lift, ...)`, `cursorStore(lift, ...)`) look the core up
 * here; nothing on the public class exposes it. Not re-exported from the package root: specs
 * that need an internal (e.g. the runner) import this module directly.
 *
 * Internal: not exported from the package root.
 */
import { InvalidArgumentError } from '../errors/errors.js';
import { ClientCore } from './client-core.js';

const cores = new WeakMap<object, ClientCore>();

/** Called once by the facade's constructor. */
export function attachCore(client: object, core: ClientCore): void {
  cores.set(client, core);
}

/**
 * The core of a client made by `connect()` (a core passes through); else an
 * {@link InvalidArgumentError} naming `field`.
 */
export function coreOf(client: unknown, field = 'client'): ClientCore {
  if (client instanceof ClientCore) return client;
  const core = typeof client === 'object' && client !== null ? cores.get(client) : undefined;
  if (core === undefined) throw new InvalidArgumentError(field, 'expected a LiftbridgeClient (made by connect())');
  return core;
}

/** Whether `value` is a client made by `connect()` (or a core). */
export function isClient(value: unknown): boolean {
  return value instanceof ClientCore || (typeof value === 'object' && value !== null && cores.has(value));
}
