/**
 * One partition a consumer group gave this member, as the {@link AssignedPartition} a user sees:
 * its lifecycle (revoke, hand-over, fence), its position store (the group's cursor) and its
 * `messages`, which start after the group's committed position, claim the partition with the
 * assignment's epoch and complete when the partition is revoked.
 *
 * Internal: not exported from the package root (built by consumer-group.ts).
 */
import { EMPTY, Observable, defer, takeUntil } from 'rxjs';
import type { Logger } from '../internal/logger.js';
import type { Message, StartPosition } from '../subscribe/types.js';
import { type AssignmentLifecycle, assignmentLifecycle } from './assignment-lifecycle.js';
import { type AssignmentPositionsDeps, assignmentPositions } from './assignment-positions.js';
import type { GroupHost } from './group-host.js';
import type { AssignedPartition } from './group-options.js';
import { COMMIT_LIFECYCLE, type CommitLifecycle } from './position-store.js';

/** What the group keeps of a partition it holds. */
export interface Held {
  readonly life: AssignmentLifecycle;
  /** Set once `messages` completed by itself (replaced, broker gone): re-issue if still assigned. */
  ended: boolean;
  /** Epoch of the newest accepted assignment that contains the partition: what it subscribes with. */
  epoch: bigint;
}

export interface AssignedPartitionDeps {
  readonly host: Pick<GroupHost, 'finalWork' | 'setCursor' | 'fetchCursor' | 'subscribe'>;
  readonly cursorOp: AssignmentPositionsDeps['cursorOp'];
  readonly groupId: string;
  readonly consumerId: string;
  readonly cursorId: string;
  readonly startAt: StartPosition;
  readonly prefetch: number | undefined;
  readonly revokeTimeoutMs: number;
  readonly logger: Logger;
}

/** Builds the assignment of `stream`/`partition` at `epoch`: what the group holds and what the user gets. */
export function assignedPartition(
  d: AssignedPartitionDeps,
  stream: string,
  partition: number,
  epoch: bigint,
): { readonly held: Held; readonly assigned: AssignedPartition } {
  const { host: client, groupId, consumerId, cursorId, startAt, prefetch, revokeTimeoutMs, logger } = d;
  const life = assignmentLifecycle(revokeTimeoutMs, (forced) => {
    if (forced) logger.warn('revoked partition fenced before its final commit ended', { groupId, stream, partition, revokeTimeoutMs });
  });
  const h: Held = { life, ended: false, epoch };
  const positions = assignmentPositions({
    host: client,
    cursorOp: d.cursorOp,
    cursorId,
    groupId,
    stream,
    partition,
    fenced: () => life.state === 'fenced',
    ended: () => h.ended,
    logger,
  });
  const lifecycle: CommitLifecycle = {
    attach: (onLedger) => life.attach(onLedger),
    logger,
    get revoked() {
      return life.handedOver;
    },
  };
  const ap: AssignedPartition & { [COMMIT_LIFECYCLE]: CommitLifecycle } = {
    groupId,
    consumerId,
    stream,
    partition,
    get epoch() {
      return h.epoch;
    },
    cursorId,
    get revoked() {
      return life.state === 'fenced';
    },
    description: `group '${groupId}' ${stream}/${partition}`,
    load: positions.load,
    save: positions.save,
    messages: defer(() =>
      // Revoked (or superseded: its intake ended by itself, and the next accepted assignment
      // issues it again if still ours): complete at once, never subscribe again, which could
      // take the partition back from its new owner.
      life.handedOver
        ? EMPTY
        : client
            .subscribe(
              stream,
              { partition, startAt: { type: 'stored', store: ap, otherwise: startAt }, ...(prefetch === undefined ? {} : { prefetch }) },
              // The epoch of the assignment, never a newer one learnt elsewhere: claiming a partition
              // with an epoch whose assignment gave it to someone else would take it from its owner.
              { groupId, consumerId, epoch: () => h.epoch, onLedger: (ledger) => life.ledger(ledger) },
            )
            .pipe(
              takeUntil(life.intakeStopped),
              (source) =>
                new Observable<Message>((sub) =>
                  source.subscribe({
                    next: (m) => sub.next(m),
                    error: (e: unknown) => sub.error(e),
                    complete: () => {
                      if (life.state === 'active') {
                        // Ended by itself: reissued on the next accepted assignment if still ours.
                        // Until then another member may own it: commit() must not let held messages out.
                        h.ended = true;
                        life.intakeEnded();
                      }
                      sub.complete();
                    },
                  }),
                ),
            ),
    ),
    [COMMIT_LIFECYCLE]: lifecycle,
  };
  return { held: h, assigned: ap };
}
