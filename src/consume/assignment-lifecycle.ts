/**
 * One assignment's lifecycle (active, draining, fenced): revocation happens in one order.
 *
 * Internal: not exported from the package root.
 */
import { type Observable, Subject } from 'rxjs';
import type { OffsetLedger } from '../subscribe/offset-ledger.js';

/**
 * The lifecycle of one assignment, as a small state machine, so that revocation happens in one
 * order: stop intake, let the commits writing to the assignment finish their final writes, then
 * fence further writes off.
 *
 * - `active`: messages flow; `commit()`s attach as they are subscribed.
 * - `draining` (revoked): `intakeStopped` has fired (the partition's `messages` completed, its
 *   gRPC call is cancelled); attached commits flush what is settled. Writes still go out.
 * - `fenced`: every attached commit detached (its last write ended) or `timeoutMs` passed.
 *   Writes fail with {@link ConsumerGroupError}.
 */
export interface AssignmentLifecycle {
  readonly state: 'active' | 'draining' | 'fenced';
  readonly intakeStopped: Observable<void>;
  attach(onLedger?: (ledger: OffsetLedger) => void): () => void;
  /** The partition subscription's ledger, handed to attached commits (now and later ones). */
  ledger(ledger: OffsetLedger): void;
  /**
   * Whether intake ended, by revocation or by itself (a newer-epoch member replaced the
   * subscription, the broker ended it): another member may own the partition now.
   */
  readonly handedOver: boolean;
  /** `messages` completed by itself. */
  intakeEnded(): void;
  revoke(): void;
}

export function assignmentLifecycle(timeoutMs: number, onFenced: (forced: boolean) => void): AssignmentLifecycle {
  let state: AssignmentLifecycle['state'] = 'active';
  let committers = 0;
  let ended = false;
  let current: OffsetLedger | undefined;
  const followers = new Set<(ledger: OffsetLedger) => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const intake = new Subject<void>();
  const fence = (forced: boolean): void => {
    if (state === 'fenced') return;
    state = 'fenced';
    if (timer !== undefined) clearTimeout(timer);
    onFenced(forced);
  };
  return {
    get state() {
      return state;
    },
    get handedOver() {
      return ended || state !== 'active';
    },
    intakeEnded: () => {
      ended = true;
    },
    intakeStopped: intake.asObservable(),
    attach: (onLedger) => {
      if (state === 'fenced') return () => undefined;
      committers++;
      let attached = true;
      if (onLedger !== undefined) {
        followers.add(onLedger);
        if (current !== undefined) onLedger(current);
      }
      return () => {
        if (!attached) return;
        attached = false;
        if (onLedger !== undefined) followers.delete(onLedger);
        committers--;
        if (state === 'draining' && committers === 0) fence(false);
      };
    },
    ledger: (ledger) => {
      current = ledger;
      for (const f of [...followers]) f(ledger);
    },
    revoke: () => {
      if (state !== 'active') return;
      state = 'draining';
      // Completes `messages`: consume() finishes what it started, commit() writes its final position.
      intake.next();
      intake.complete();
      if (state !== 'draining') return;
      if (committers === 0) fence(false);
      else {
        timer = setTimeout(() => fence(true), timeoutMs);
        timer.unref?.();
      }
    },
  };
}
