/**
 * Errors are the outcome of one message: each carries its correlation id.
 *
 * Internal (not exported from the package root).
 */
import type { LiftbridgeError } from '../errors/errors.js';

/** `error` itself when it already names `correlationId`, else a copy (same class) that does. */
export function withCorrelationId(error: LiftbridgeError, correlationId: string): LiftbridgeError {
  if (error.correlationId === correlationId || correlationId === '') return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as LiftbridgeError;
  Object.assign(copy, error);
  Object.defineProperty(copy, 'message', { value: error.message, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(copy, 'stack', { value: error.stack, writable: true, configurable: true, enumerable: false });
  if (error.cause !== undefined) Object.defineProperty(copy, 'cause', { value: error.cause, writable: true, configurable: true, enumerable: false });
  (copy as { correlationId: string }).correlationId = correlationId;
  return copy;
}
