/**
 * commit() flushes what the ledger settled even when it has not been told yet. A ledger calls its
 * watchers in turn; the subscription's watcher comes first, and when the last settlement lets it
 * reach its stop position it completes the pipeline at once, so commit() ends before its own
 * watcher hears of that settlement. Found by the out-of-order property spec in
 * spec/integration/commit.spec.ts (seed -2050303952: stored 50 where 59 was settled).
 */
import { Observable, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { commit, type PositionStore } from '../../src/index.js';
import { OffsetLedger } from '../../src/subscribe/offset-ledger.js';
import { ReceivedMessage } from '../../src/subscribe/received-message.js';
import { wireMessage } from '../support/fixtures/wire.js';

describe('commit() at the end of its source', () => {
  it('stores the settled prefix even when the source completes before commit() is told of the last settlement', async () => {
    const saves: bigint[] = [];
    const store: PositionStore = {
      load: () => [undefined],
      save: (_s, _p, offset) =>
        new Observable<void>((sub) => {
          saves.push(offset);
          sub.complete();
        }),
    };
    const ledger = new OffsetLedger('s', 0, 16);
    const messages = [0n, 1n, 2n].map((o) => new ReceivedMessage(wireMessage(o), ledger, ledger.deliver(o)));
    const source = new Observable<ReceivedMessage>((subscriber) => {
      // Like a partition stream at its stop position: completes as soon as everything it
      // delivered is settled, from its own ledger watcher (registered before commit()'s).
      const unwatch = ledger.watch(() => {
        if (ledger.settledThrough === 2n) subscriber.complete();
      });
      // Offsets 0 and 1 are held by a slow handler; 2 passes first and settles on its own.
      for (const m of messages) {
        if (m.offset < 2n) ReceivedMessage.claim(m);
        subscriber.next(m);
        if (!m.claimed) m.settle(); // as a subscription does when `next` returns
      }
      // The handler finishes 1, then 0: the last settlement moves the prefix from none to 2.
      messages[1]!.settle();
      messages[0]!.settle();
      return unwatch;
    });
    await lastValueFrom(source.pipe(commit(store, { count: 1000, timeMs: 0 })), { defaultValue: undefined });
    expect(ledger.settledThrough).toBe(2n);
    expect(saves).toEqual([2n]);
  });
});
