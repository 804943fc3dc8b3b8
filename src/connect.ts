/** `connect()`: the package's entry point. */
import type { ClientOptions } from './client-options.js';
import { LiftbridgeClient } from './client.js';

/**
 * Creates a client. No I/O happens until the first operation is subscribed to.
 *
 * @throws {InvalidArgumentError} for invalid options (the field is named).
 * @example
 * ```ts
 * import { connect } from 'rx-liftbridge';
 * const lift = connect({ brokers: ['127.0.0.1:9292', '127.0.0.1:9293'], failover: 'shuffle',
 *   retry: { maxRetries: 5, onRetry: (err, attempt, delayMs) => console.warn(err.message, attempt, delayMs) } });
 * ```
 */
export function connect(options: ClientOptions): LiftbridgeClient {
  return new LiftbridgeClient(options);
}
