/**
 * Which errors are worth retrying for any idempotent call.
 *
 * Internal: not exported from the package root.
 */
import { ConnectionError, InternalServerError, type LiftbridgeError, NotLeaderError, TimeoutError } from '../errors/errors.js';

/** Lost brokers, timeouts, transient Raft trouble. */
export function isTransient(e: LiftbridgeError): boolean {
  return e instanceof ConnectionError || e instanceof TimeoutError || e instanceof InternalServerError || e instanceof NotLeaderError;
}
