/**
 * What a PublishAsync response means for the message it answers: stored (an ack), a failure a
 * resend may cure (an internal broker error), a "not found" to confirm with the cluster, or the
 * message's final error. `asyncError` is checked before the ack, then the ack's own error.
 *
 * Internal (not exported from the package root).
 */
import { InternalServerError, type LiftbridgeError, UnknownServerError } from '../errors/errors.js';
import { mapAckError, mapPublishAsyncError } from '../errors/map-error.js';
import { isNotFound } from '../metadata/confirm-missing.js';
import type { DecodedResponse } from './publish-codec.js';

const RPC = 'PublishAsync';

export type ResponseVerdict =
  | { readonly type: 'ack'; readonly ack: NonNullable<DecodedResponse['ack']> }
  | { readonly type: 'retry'; readonly error: LiftbridgeError }
  | { readonly type: 'confirm-missing'; readonly error: LiftbridgeError }
  | { readonly type: 'fail'; readonly error: LiftbridgeError };

export function judgeResponse(
  e: { readonly stream: string; readonly partition: number; readonly correlationId: string },
  response: DecodedResponse,
  address: string,
): ResponseVerdict {
  const ctx = { rpc: RPC, address, stream: e.stream, partition: e.partition, correlationId: e.correlationId };
  if (response.errorCode !== undefined) {
    const error = mapPublishAsyncError(response.errorCode, response.errorMessage, ctx);
    if (error instanceof InternalServerError) return { type: 'retry', error };
    if (isNotFound(error)) return { type: 'confirm-missing', error };
    return { type: 'fail', error };
  }
  const ack = response.ack;
  if (ack === undefined) return { type: 'fail', error: new UnknownServerError(`${RPC} stream=${e.stream}: the broker answered without an ack`, ctx) };
  const ackError = mapAckError(ack.ackError, ctx);
  if (ackError !== undefined) return { type: 'fail', error: ackError };
  return { type: 'ack', ack };
}

/**
 * Whether `response` is an error answer that {@link judgeResponse} would have resent (an internal
 * broker error). Such an answer, arriving while a newer copy of the message is still out, may be
 * an older copy's and is not acted on (src/publish/publish-lanes.ts). Final errors are never
 * ignored: whichever copy they answer, they describe the partition now.
 */
export function isRetriedError(response: DecodedResponse): boolean {
  if (response.errorCode === undefined) return false;
  return mapPublishAsyncError(response.errorCode, response.errorMessage, { rpc: RPC, address: '' }) instanceof InternalServerError;
}
