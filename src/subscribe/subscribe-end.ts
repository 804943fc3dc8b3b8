/**
 * How a partition subscription reads the end of a Subscribe call: which statuses end it normally
 * and after which errors it reads on from the next offset.
 *
 * Internal (not exported from the package root).
 */
import { ConnectionError, InternalServerError, type LiftbridgeError, NotLeaderError, TimeoutError, UnknownServerError } from '../errors/errors.js';

/** Texts of a status that ends a subscription normally. */
export const COMPLETION = /Stop offset reached|End of readonly partition|Stream is empty|^EOF$/i;

/**
 * Errors after which the partition is read again from the next offset (within the outage budget).
 * UNKNOWN is a broker-side read failure that says nothing about the data: after a leader change a
 * reader can meet a replaced segment ("failed to reinitialize reader: segment not found").
 */
export function resumable(e: LiftbridgeError): boolean {
  return (
    e instanceof ConnectionError ||
    e instanceof NotLeaderError ||
    e instanceof TimeoutError ||
    e instanceof InternalServerError ||
    e instanceof UnknownServerError
  );
}
