/**
 * Positions relative to "now" (new-only, latest, stop-at-latest) become offsets before a
 * partition's first Subscribe call, so that a resubscription before the first message, or a re-read
 * of a tail, keeps the original meaning. A paused partition to be resumed keeps them as they are:
 * its leader cannot answer until the subscription resumes it.
 *
 * Internal (not exported from the package root).
 */
import { type SubscribeRequest, StartPosition as WireStart, StopPosition as WireStop } from '../generated/liftbridge/api.js';

/** Whether `request` has a position that must be pinned to an offset before the first call. */
export function hasRelativePositions(request: SubscribeRequest): boolean {
  return relativeStart(request) || request.stopPosition === WireStop.STOP_LATEST;
}

function relativeStart(request: SubscribeRequest): boolean {
  return (request.startPosition === WireStart.NEW_ONLY || request.startPosition === WireStart.LATEST) && !request.resume;
}

/**
 * `request` with its relative positions pinned against the partition's `newest` offset (-1 when
 * empty), or `undefined` when a read up to the newest message has nothing to read: an empty
 * partition, or a forward read that starts past its newest message (the broker would refuse it
 * with "stop offset before start").
 */
export function pinRelativePositions(request: SubscribeRequest, newest: bigint): SubscribeRequest | undefined {
  let next: SubscribeRequest = { ...request };
  if (relativeStart(request) && !request.reverse) {
    next = {
      ...next,
      startPosition: WireStart.OFFSET,
      startOffset: request.startPosition === WireStart.NEW_ONLY ? newest + 1n : newest < 0n ? 0n : newest,
    };
  }
  if (request.stopPosition === WireStop.STOP_LATEST) {
    const pastNewest = !next.reverse && next.startPosition === WireStart.OFFSET && next.startOffset > newest;
    if (newest < 0n || pastNewest) return undefined;
    next = { ...next, stopPosition: WireStop.STOP_OFFSET, stopOffset: newest };
  }
  return next;
}
