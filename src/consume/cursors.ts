/**
 * Cursor calls (SetCursor, FetchCursor), routed to the leader of the cursor's partition of the
 * internal `__cursors` stream.
 *
 * Internal (not exported from the package root): the public entry points are `LiftbridgeClient.setCursor()` / `fetchCursor()`.
 */
import { type Observable, of, switchMap, throwError } from 'rxjs';
import { type CallOptions, policyFor } from '../core/call-options.js';
import type { ClientCore } from '../core/client-core.js';
import { isTransient } from '../core/transient.js';
import { CursorsDisabledError, NotLeaderError } from '../errors/errors.js';
import type { AttemptOptions } from '../internal/operation-runner.js';
import { requireInt64, requireNonEmptyString, requireObject, rejectUnknownKeys, requirePartition, requireStreamName, validated } from '../internal/validate.js';
import type { BrokerClient } from '../transport/connection-pool.js';
import type { CursorKey, CursorPosition } from './cursor-position.js';
import { CURSORS_STREAM, cursorPartition } from './cursor-routing.js';

export type { CursorKey, CursorPosition } from './cursor-position.js';

export function setCursor(core: ClientCore, cursor: CursorPosition, call?: CallOptions): Observable<void> {
  return validated(() => {
    const c = requireObject('cursor', cursor);
    rejectUnknownKeys('cursor', c, ['stream', 'partition', 'cursorId', 'offset']);
    const stream = requireStreamName('cursor.stream', c.stream);
    const partition = requirePartition('cursor.partition', c.partition);
    const cursorId = requireNonEmptyString('cursor.cursorId', c.cursorId);
    // int64 on the wire: a larger value would come back as a server-side serialization error.
    const offset = requireInt64('cursor.offset', c.offset, -1n);
    return cursorCall(core, 'SetCursor', stream, partition, cursorId, call, (client, opts) =>
      client.unary('setCursor', { stream, partition, cursorId, offset }, opts).then(() => undefined),
    );
  });
}

export function fetchCursor(core: ClientCore, cursor: CursorKey, call?: CallOptions): Observable<bigint> {
  return validated(() => {
    const c = requireObject('cursor', cursor);
    rejectUnknownKeys('cursor', c, ['stream', 'partition', 'cursorId']);
    const stream = requireStreamName('cursor.stream', c.stream);
    const partition = requirePartition('cursor.partition', c.partition);
    const cursorId = requireNonEmptyString('cursor.cursorId', c.cursorId);
    return cursorCall(core, 'FetchCursor', stream, partition, cursorId, call, (client, opts) =>
      client.unary('fetchCursor', { stream, partition, cursorId }, opts).then((res) => res.offset),
    );
  });
}

function cursorCall<T>(
  core: ClientCore,
  rpc: 'SetCursor' | 'FetchCursor',
  stream: string,
  partition: number,
  cursorId: string,
  call: CallOptions | undefined,
  send: (client: BrokerClient, opts: AttemptOptions) => Promise<T>,
): Observable<T> {
  const route = (refresh: boolean): Observable<string> =>
    (refresh ? core.metadata.refresh() : core.metadata.get()).pipe(
      switchMap((m) => {
        const cursors = m.stream(CURSORS_STREAM);
        if (cursors === undefined || cursors.partitions.length === 0) {
          // Without a cursors stream any broker gives the definitive answer (cursors disabled).
          return of(core.routing.anyBroker());
        }
        const target = cursorPartition(cursorId, stream, partition, cursors.partitions.length);
        const address = m.leaderAddress(CURSORS_STREAM, target);
        if (address === undefined) {
          return throwError(() => new NotLeaderError(`${rpc}: no known leader for ${CURSORS_STREAM} partition ${target}`, { rpc }));
        }
        return of(address);
      }),
    );
  return core.run({
    rpc,
    stream,
    partition,
    route: (attempt) => route(attempt > 0),
    call: send,
    retryable: (e) => isTransient(e) && !(e instanceof CursorsDisabledError),
    policy: policyFor(core.options.retry, call),
  });
}
