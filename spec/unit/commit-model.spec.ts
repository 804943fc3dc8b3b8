/**
 * Model-based spec of commit() over a partition's offset ledger (fast-check): random delivery
 * (with offset gaps, as compaction leaves), settlement in any order, messages dropped before or
 * after commit(), messages abandoned, store writes that succeed, fail or are fenced, the timer,
 * revocation-style lifecycles, completion and unsubscribe. Invariants:
 *
 * - a write never covers an offset that was not settled (at-least-once) / not taken in by
 *   commit() or settled (at-most-once): the contiguous prefix only;
 * - writes strictly increase, one at a time;
 * - onCommit (and, with emit 'committed', every emitted message) only for writes the store
 *   confirmed;
 * - the lifecycle hook is released once, after the last write ended, and nothing is written after;
 * - at-most-once in a group: after revocation nothing is written or let out (a new owner may
 *   already have loaded the older position);
 * - once the source completes, the final confirmed position is the whole prefix.
 */
import fc from 'fast-check';
import { Subject, type Subscription, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { commit } from '../../src/consume/commit.js';
import { COMMIT_LIFECYCLE, type CommitLifecycle, type PositionStore } from '../../src/consume/position-store.js';
import { OffsetLedger } from '../../src/subscribe/offset-ledger.js';
import { ReceivedMessage } from '../../src/subscribe/received-message.js';
import type { Message } from '../../src/subscribe/types.js';
import { wireMessage } from '../support/fixtures/wire.js';

type Op =
  | { t: 'deliver'; gap: number; route: 'through' | 'drop-before' | 'drop-after' | 'hold-upstream' }
  | { t: 'settle'; pick: number }
  | { t: 'abandon'; pick: number }
  | { t: 'forward'; pick: number; drop: boolean }
  | { t: 'save-ok' }
  | { t: 'save-fail' }
  | { t: 'fence' }
  | { t: 'tick' }
  | { t: 'revoke' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('deliver' as const),
      gap: fc.nat(2),
      route: fc.constantFrom('through', 'through', 'drop-before', 'drop-after', 'hold-upstream'),
    }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('settle' as const), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('abandon' as const), pick: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('forward' as const), pick: fc.nat(50), drop: fc.boolean() }) },
  { weight: 4, arbitrary: fc.constant({ t: 'save-ok' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'save-fail' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'fence' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'revoke' as const }) },
);

function run(mode: 'processed' | 'committed', count: number, timeMs: number, ops: Op[], end: 'complete' | 'unsubscribe', viaGroup: boolean): void {
  const prefetch = 1_000;
  const ledger = new OffsetLedger('s', 0, prefetch);
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const problems: string[] = [];

  // What the model knows, per delivered offset.
  const delivered: bigint[] = [];
  const settled = new Set<bigint>();
  const reached = new Set<bigint>(); // arrived at commit()
  const upstream: ReceivedMessage[] = []; // held before commit() (like consume() before commit())
  const downstream: ReceivedMessage[] = []; // claimed after commit(), settled later

  // A store whose writes the model completes, fails or fences.
  const issued: bigint[] = [];
  const confirmed: bigint[] = [];
  const pending: { offset: bigint; sub: Subject<void> }[] = [];
  let fenced = false;
  // Revocation of a group assignment (only a group store knows it).
  let revoked = false;
  let detached = 0;
  let ended = false;
  const store: PositionStore & { [COMMIT_LIFECYCLE]?: CommitLifecycle } = {
    load: () => [undefined],
    save: (_s, _p, offset) => {
      if (detached > 0) problems.push(`save ${offset} after the lifecycle was released`);
      const ok = (d: bigint): boolean => (mode === 'processed' ? settled.has(d) : settled.has(d) || reached.has(d));
      for (const d of delivered)
        if (d <= offset && !ok(d)) problems.push(`save ${offset} covers ${d}, which is not ${mode === 'processed' ? 'settled' : 'taken in'}`);
      if (issued.length > 0 && offset <= (issued.at(-1) as bigint)) problems.push(`save ${offset} after ${issued.at(-1)}: not increasing`);
      if (pending.length > 0) problems.push(`save ${offset} while ${pending[0]?.offset} is in flight`);
      if (revoked && mode === 'committed') problems.push(`save ${offset} after revocation in at-most-once mode`);
      issued.push(offset);
      const sub = new Subject<void>();
      pending.push({ offset, sub });
      return sub;
    },
  };
  if (viaGroup) {
    // As a group assignment: owns the lifecycle and hands over the partition's ledger.
    store[COMMIT_LIFECYCLE] = {
      get revoked() {
        return revoked;
      },
      attach: (onLedger) => {
        onLedger?.(ledger);
        return () => {
          detached++;
          if (!ended && !failed) problems.push('lifecycle released before the stream ended or failed');
          if (pending.length > 0) problems.push('lifecycle released while a write is in flight');
        };
      },
    };
  }

  const source = new Subject<Message>();
  const reported: bigint[] = [];
  const emitted: bigint[] = [];
  let failed = false;
  let completed = false;
  const sub: Subscription = source.pipe(commit(store, { count, timeMs, emit: mode, scheduler, onCommit: (c) => reported.push(c.offset) })).subscribe({
    next: (m) => {
      emitted.push(m.offset);
      if (mode === 'committed' && revoked) problems.push(`emitted ${m.offset} after revocation: the new owner may process it too`);
      if (mode === 'committed' && (confirmed.length === 0 || m.offset > (confirmed.at(-1) as bigint))) {
        problems.push(`emitted ${m.offset} before a stored position covered it`);
      }
      // The sink (processing) claims every other message; the rest it is done with at once.
      if (m.offset % 2n === 0n) {
        ReceivedMessage.claim(m);
        downstream.push(m as ReceivedMessage);
      }
    },
    error: () => (failed = true),
    complete: () => (completed = true),
  });

  // Settles through the message (its ledger entry) and tells the model.
  const settle = (m: ReceivedMessage): void => {
    settled.add(m.offset);
    m.settle();
  };
  /** Delivers like a partition stream: next, then settle unless claimed. */
  const pass = (m: ReceivedMessage): void => {
    reached.add(m.offset);
    let done = false;
    ReceivedMessage.handOff(m, (x) => {
      source.next(x);
      done = !(x as ReceivedMessage).claimed;
      if (done) settled.add(x.offset); // handOff settles it when next returns
    });
  };
  const take = <T>(list: T[], pick: number): T | undefined => (list.length === 0 ? undefined : list.splice(pick % list.length, 1)[0]);

  let next = 0n;
  for (const op of ops) {
    switch (op.t) {
      case 'deliver': {
        const offset = next + BigInt(op.gap);
        next = offset + 1n;
        delivered.push(offset);
        const m = new ReceivedMessage(wireMessage(offset), ledger, ledger.deliver(offset));
        if (op.route === 'drop-before') settle(m);
        else if (op.route === 'hold-upstream') {
          ReceivedMessage.claim(m);
          upstream.push(m);
        } else if (op.route === 'drop-after') {
          reached.add(offset);
          source.next(m); // the sink below may claim it; if not, it is settled when next returns
          if (!m.claimed) settle(m);
        } else {
          reached.add(offset);
          source.next(m);
          if (!m.claimed) settle(m);
        }
        break;
      }
      case 'settle': {
        const m = take(downstream, op.pick);
        if (m !== undefined) settle(m);
        break;
      }
      case 'abandon': {
        const m = take(downstream, op.pick) ?? take(upstream, op.pick);
        m?.abandon();
        break;
      }
      case 'forward': {
        const m = take(upstream, op.pick);
        if (m === undefined) break;
        if (op.drop) settle(m);
        else pass(m);
        break;
      }
      case 'save-ok': {
        const w = pending.shift();
        if (w === undefined) break;
        if (fenced) {
          w.sub.error(new Error('fenced'));
          break;
        }
        confirmed.push(w.offset);
        w.sub.complete();
        break;
      }
      case 'save-fail': {
        const w = pending.shift();
        w?.sub.error(new Error('store down'));
        break;
      }
      case 'fence':
        fenced = true;
        break;
      case 'revoke':
        if (viaGroup) revoked = true;
        break;
      case 'tick':
        scheduler.maxFrames += 10;
        scheduler.flush();
        break;
    }
  }

  // The end: the source completes (everything upstream is forwarded, the sink finishes), or the
  // pipeline is unsubscribed as it stands.
  let prefixAtEnd: bigint | undefined;
  ended = true;
  if (end === 'complete') {
    for (const m of upstream.splice(0)) pass(m);
    for (const m of downstream.splice(0)) settle(m);
    prefixAtEnd = mode === 'processed' ? ledger.settledThrough : ledger.reachedThrough;
    source.complete();
  } else {
    prefixAtEnd = mode === 'processed' ? ledger.settledThrough : ledger.reachedThrough;
    sub.unsubscribe();
  }
  // Let the store answer every remaining write (successfully unless fenced).
  for (let guard = 0; pending.length > 0 && guard < 1000; guard++) {
    const w = pending.shift() as { offset: bigint; sub: Subject<void> };
    if (fenced) w.sub.error(new Error('fenced'));
    else {
      confirmed.push(w.offset);
      w.sub.complete();
    }
  }

  expect(problems).toEqual([]);
  expect(reported).toEqual(confirmed);
  expect(detached).toBe(viaGroup ? 1 : 0);
  const handedOver = revoked && mode === 'committed';
  if (!failed && !fenced && !handedOver) {
    // Nothing failed: the final confirmed position is the whole prefix. A plain store's commit()
    // learns the partition from the first message that reaches it (none: nothing to write).
    expect(confirmed.at(-1)).toBe(viaGroup || reached.size > 0 ? prefixAtEnd : undefined);
    if (end === 'complete') expect(completed).toBe(true);
  }
  if (end === 'complete' && !failed && !fenced && !handedOver && mode === 'committed') {
    // At-most-once: everything taken in up to the prefix was let out once the position covered
    // it (what waits behind an abandoned offset is never let out: no position can cover it).
    const covered = [...reached].filter((o) => prefixAtEnd !== undefined && o <= prefixAtEnd);
    expect([...emitted].sort((a, b) => (a < b ? -1 : 1))).toEqual(covered.sort((a, b) => (a < b ? -1 : 1)));
  }
  sub.unsubscribe();
}

describe('commit() model (fast-check)', () => {
  it('never covers an unsettled offset, never goes backwards, reports only confirmed writes, flushes everything at the end', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('processed' as const, 'committed' as const),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom(0, 10, 25),
        fc.array(opArb, { maxLength: 120 }),
        fc.constantFrom('complete' as const, 'unsubscribe' as const),
        fc.boolean(),
        (mode, count, timeMs, ops, end, viaGroup) => run(mode, count, timeMs, ops, end, viaGroup),
      ),
      { numRuns: 400 },
    );
  });
});

describe('offset ledger', () => {
  it('the window is what the settled prefix has not passed; abandoned offsets block both prefixes', () => {
    const ledger = new OffsetLedger('s', 0, 10);
    const e = [0n, 1n, 5n, 6n].map((o) => ledger.deliver(o));
    ledger.settle(e[1]!);
    expect([ledger.settledThrough, ledger.size]).toEqual([undefined, 4]);
    ledger.settle(e[0]!);
    expect([ledger.settledThrough, ledger.size, ledger.settledCount]).toEqual([1n, 2, 2]);
    ledger.mark(e[2]!);
    expect([ledger.reachedThrough, ledger.settledThrough]).toEqual([5n, 1n]);
    ledger.abandon(e[3]!);
    ledger.settle(e[3]!); // no effect once abandoned
    ledger.settle(e[2]!);
    expect([ledger.settledThrough, ledger.reachedThrough, ledger.size]).toEqual([5n, 5n, 1]);
  });
});
