/**
 * The position store of one group assignment: reads and writes the group's cursor for the
 * partition, never below a position this member knows is stored, fenced off once the partition
 * was revoked, and only ahead of the position stored now (read before each write: a previous or newer
 * owner may have stored more, and v1.9.0 cursors have no compare-and-set).
 *
 * Internal: not exported from the package root.
 */
import { type Observable, map, of, switchMap, tap, throwError } from 'rxjs';
import { ConsumerGroupError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import type { GroupHost } from './group-host.js';
import type { PositionStore } from './position-store.js';

export interface AssignmentPositionsDeps {
  readonly host: Pick<GroupHost, 'finalWork' | 'setCursor' | 'fetchCursor'>;
  /** Wraps a cursor call with the group's "cursors stream catching up" retry. */
  cursorOp<T>(op: () => Observable<T>): Observable<T>;
  readonly cursorId: string;
  readonly groupId: string;
  readonly stream: string;
  readonly partition: number;
  /** The assignment was revoked and fenced: writes fail. */
  fenced(): boolean;
  /** The partition's subscription ended by itself (a newer-epoch member may own it). */
  ended(): boolean;
  readonly logger: Logger;
}

export function assignmentPositions(d: AssignmentPositionsDeps): Pick<PositionStore, 'load' | 'save'> {
  const { host: client, cursorOp, cursorId, groupId, stream, partition, logger } = d;
  /** The highest position this member knows is stored (read, or written and confirmed): its writes never go below it. */
  let lastSaved: bigint | undefined;
  const known = (v: bigint | undefined): void => {
    if (v !== undefined && (lastSaved === undefined || v > lastSaved)) lastSaved = v;
  };
  // lastSaved moves only once the store confirmed the write.
  const write = (s: string, p: number, offset: bigint): Observable<unknown> =>
    client.finalWork(cursorOp(() => client.setCursor({ stream: s, partition: p, cursorId, offset }))).pipe(
      // The write's answer (or completion) means it is stored; a reader may stop after the answer.
      tap({ next: () => known(offset), complete: () => known(offset) }),
    );
  return {
    load: (s, p) =>
      cursorOp(() => client.fetchCursor({ stream: s, partition: p, cursorId })).pipe(
        map((v) => (v < 0n ? undefined : v)),
        tap(known),
      ),
    save: (s, p, offset) => {
      if (d.fenced()) {
        logger.info('position write fenced: partition revoked', { groupId, stream: s, partition: p, offset: String(offset) });
        return throwError(
          () => new ConsumerGroupError(`group ${groupId}: position write ${s}/${p} = ${offset} fenced off: the partition was revoked from this member`, false),
        );
      }
      if (s !== stream || p !== partition) return write(s, p, offset);
      if (lastSaved !== undefined && offset <= lastSaved) return of(undefined);
      // Liftbridge has no compare-and-set for cursors, and FetchCursor answers the *last* write. When
      // a partition changes hands, the previous owner's final commit can land after this member read
      // the cursor (or, once our subscription ended by itself, a newer owner may have stored more).
      // A lower write would move the group's position back, and a later owner would re-process
      // committed messages (found by the chaos suite). So: read the stored position first, and write
      // only when ours is ahead of it. One FetchCursor per commit write.
      return client.finalWork(cursorOp(() => client.fetchCursor({ stream: s, partition: p, cursorId }))).pipe(
        switchMap((stored) => {
          known(stored < 0n ? undefined : stored);
          if (stored >= offset) {
            logger.info('position write skipped: the stored position is ahead', {
              groupId,
              stream: s,
              partition: p,
              offset: String(offset),
              stored: String(stored),
              takenOver: d.ended(),
            });
            return of(undefined);
          }
          return write(s, p, offset);
        }),
      );
    },
  };
}
