/**
 * pinRelativePositions (src/subscribe/relative-positions.ts): relative start and stop positions
 * become offsets against the partition's newest offset; a forward read up to the newest message
 * never asks the broker for a stop before its start.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StartPosition, StopPosition } from '../../src/generated/liftbridge/api.js';
import { hasRelativePositions, pinRelativePositions } from '../../src/subscribe/relative-positions.js';
import { subscribeRequest } from '../support/fixtures/wire.js';

describe('pinRelativePositions', () => {
  it('new-only starts after the newest, latest at it; StopAt.latest stops at the newest', () => {
    expect(pinRelativePositions(subscribeRequest({ startPosition: StartPosition.NEW_ONLY }), 4n)).toMatchObject({
      startPosition: StartPosition.OFFSET,
      startOffset: 5n,
    });
    expect(pinRelativePositions(subscribeRequest({ startPosition: StartPosition.LATEST }), 4n)).toMatchObject({
      startPosition: StartPosition.OFFSET,
      startOffset: 4n,
    });
    expect(pinRelativePositions(subscribeRequest({ stopPosition: StopPosition.STOP_LATEST }), 4n)).toMatchObject({
      stopPosition: StopPosition.STOP_OFFSET,
      stopOffset: 4n,
    });
    expect(pinRelativePositions(subscribeRequest({ stopPosition: StopPosition.STOP_LATEST }), -1n)).toBeUndefined();
    expect(hasRelativePositions(subscribeRequest({ startPosition: StartPosition.LATEST, resume: true }))).toBe(false);
  });

  it('property: a forward read pinned to a stop offset never stops before its start offset', () => {
    const starts = [StartPosition.NEW_ONLY, StartPosition.LATEST, StartPosition.OFFSET, StartPosition.EARLIEST];
    fc.assert(
      fc.property(fc.constantFrom(...starts), fc.bigInt({ min: 0n, max: 100n }), fc.bigInt({ min: -1n, max: 100n }), (startPosition, startOffset, newest) => {
        const pinned = pinRelativePositions(subscribeRequest({ startPosition, startOffset, stopPosition: StopPosition.STOP_LATEST }), newest);
        if (pinned === undefined) return;
        expect(pinned.stopPosition).toBe(StopPosition.STOP_OFFSET);
        expect(pinned.stopOffset).toBe(newest);
        if (pinned.startPosition === StartPosition.OFFSET) expect(pinned.startOffset).toBeLessThanOrEqual(pinned.stopOffset);
      }),
    );
  });
});
