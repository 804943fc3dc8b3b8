/**
 * The admin operations (create, delete, pause, set readonly, fetch partition metadata) over the
 * core's runner. The facade's methods call these.
 *
 * Internal: not exported from the package root.
 */
import { type Observable, map, of, throwError } from 'rxjs';
import { type CallOptions, policyFor } from '../core/call-options.js';
import type { ClientCore } from '../core/client-core.js';
import { isTransient } from '../core/transient.js';
import { InternalServerError, NoSuchStreamError, NotLeaderError, PartitionPausedError, StreamExistsError } from '../errors/errors.js';
import type { OperationSpec } from '../internal/operation-runner.js';
import { requireBoolean, requireObject, rejectUnknownKeys, requirePartition, requireStreamName, validated } from '../internal/validate.js';
import { type PartitionInfo, toPartitionInfo } from '../metadata/cluster-metadata.js';
import { isNotFound } from '../metadata/confirm-missing.js';
import type { PauseStreamOptions, SetStreamReadonlyOptions } from './admin-options.js';
import { type CreateStreamOptions, toCreateStreamRequest, toPartitionList } from './create-stream-options.js';

export type { PauseStreamOptions, SetStreamReadonlyOptions } from './admin-options.js';

export function createStream(core: ClientCore, options: CreateStreamOptions, call?: CallOptions): Observable<void> {
  return validated(() => {
    const request = toCreateStreamRequest(options);
    return adminCall(
      core,
      {
        rpc: 'CreateStream',
        stream: request.name,
        call: (client, opts) => client.unary('createStream', request, opts),
        recover: (e, attempt) => (attempt > 0 && e instanceof StreamExistsError ? of(undefined) : undefined),
      },
      call,
    );
  });
}

export function deleteStream(core: ClientCore, name: string, call?: CallOptions): Observable<void> {
  return validated(() => {
    const stream = requireStreamName('name', name);
    return adminCall(
      core,
      {
        rpc: 'DeleteStream',
        stream,
        call: (client, opts) => client.unary('deleteStream', { name: stream }, opts),
        recover: (e, attempt) => (attempt > 0 && e instanceof NoSuchStreamError ? of(undefined) : undefined),
      },
      call,
    );
  });
}

export function pauseStream(core: ClientCore, name: string, options: PauseStreamOptions, call?: CallOptions): Observable<void> {
  return validated(() => {
    const stream = requireStreamName('name', name);
    const o = requireObject('options', options);
    rejectUnknownKeys('options', o, ['partitions', 'resumeAll']);
    const partitions = toPartitionList('options.partitions', o.partitions);
    const resumeAll = o.resumeAll === undefined ? false : requireBoolean('options.resumeAll', o.resumeAll);
    return adminCall(
      core,
      { rpc: 'PauseStream', stream, call: (client, opts) => client.unary('pauseStream', { name: stream, partitions, resumeAll }, opts) },
      call,
      partitions,
    );
  });
}

export function setStreamReadonly(core: ClientCore, name: string, options: SetStreamReadonlyOptions, call?: CallOptions): Observable<void> {
  return validated(() => {
    const stream = requireStreamName('name', name);
    const o = requireObject('options', options);
    rejectUnknownKeys('options', o, ['partitions', 'readonly']);
    const partitions = toPartitionList('options.partitions', o.partitions);
    const readonly = o.readonly === undefined ? true : requireBoolean('options.readonly', o.readonly);
    return adminCall(
      core,
      { rpc: 'SetStreamReadonly', stream, call: (client, opts) => client.unary('setStreamReadonly', { name: stream, partitions, readonly }, opts) },
      call,
      partitions,
    );
  });
}

export function fetchPartitionMetadata(core: ClientCore, stream: string, partition: number, call?: CallOptions): Observable<PartitionInfo> {
  return validated(() => {
    const name = requireStreamName('stream', stream);
    const id = requirePartition('partition', partition);
    return core.run(
      {
        rpc: 'FetchPartitionMetadata',
        stream: name,
        partition: id,
        route: (attempt) => core.routing.leaderAddress(name, id, attempt > 0),
        call: (client, opts) =>
          client.unary('fetchPartitionMetadata', { stream: name, partition: id }, opts).then((res) => {
            if (res.metadata === undefined) throw new InternalServerError(`FetchPartitionMetadata stream=${name} partition=${id}: empty answer`);
            return toPartitionInfo(name, res.metadata);
          }),
        retryable: (e) => isTransient(e),
        // The leader of a paused partition answers "not leader": tell the two apart. (The
        // metadata's `paused` flag alone is not enough: v1.9.0 servers keep it set after a
        // resume.) A "not found" answer is final only when the cluster confirms it.
        recover: (e) => {
          if (isNotFound(e)) return core.routing.retryUnlessConfirmed(e, name, [id]);
          if (!(e instanceof NotLeaderError) || e.address === undefined) return undefined;
          const m = core.metadata.latest();
          if (m?.partition(name, id)?.paused === true && m.leaderAddress(name, id) === e.address) {
            return throwError(
              () =>
                new PartitionPausedError(`FetchPartitionMetadata stream=${name} partition=${id}: the partition is paused`, {
                  rpc: 'FetchPartitionMetadata',
                  address: e.address,
                  cause: e,
                }),
            );
          }
          return undefined;
        },
        policy: policyFor(core.options.retry, call),
      },
      'unary',
    );
  });
}

function adminCall(
  core: ClientCore,
  spec: Pick<OperationSpec<unknown>, 'rpc' | 'stream' | 'call' | 'recover'>,
  call: CallOptions | undefined,
  /** Partitions the request names (a "no such partition" answer is checked against them). */
  partitions?: readonly number[],
): Observable<void> {
  const stream = spec.stream;
  return core
    .run({
      ...spec,
      route: () => [core.routing.anyBroker()],
      retryable: (e) => isTransient(e),
      // A broker that has not caught up answers "not found": final only when the cluster confirms.
      recover: (e, attempt) =>
        spec.recover?.(e, attempt) ?? (isNotFound(e) && stream !== undefined ? core.routing.retryUnlessConfirmed(e, stream, partitions) : undefined),
      policy: policyFor(core.options.retry, call),
    })
    .pipe(map(() => undefined));
}
