/**
 * What a consumer-group member uses of the client: the core's runner, routing and status, and
 * the cursor and subscribe operations. {@link groupHost} builds it from the core; unit specs pass
 * a scripted stand-in.
 *
 * Internal: not exported from the package root.
 */
import type { Observable } from 'rxjs';
import type { ResolvedClientOptions } from '../client-options.js';
import type { ClientCore } from '../core/client-core.js';
import type { OperationSpec } from '../internal/operation-runner.js';
import type { ClusterMetadata } from '../metadata/cluster-metadata.js';
import type { MetadataService } from '../metadata/metadata-service.js';
import type { ClientStatus } from '../status.js';
import type { GroupMember } from '../subscribe/partition-stream.js';
import { subscribeStream } from '../subscribe/subscribe-stream.js';
import type { Message, SubscribeOptions } from '../subscribe/types.js';
import { type CursorKey, type CursorPosition, fetchCursor, setCursor } from './cursors.js';

export interface GroupHost {
  readonly options: Pick<ResolvedClientOptions, 'logger' | 'retry' | 'scheduler' | 'random'>;
  run<T>(spec: OperationSpec<T>): Observable<T>;
  anyBroker(): string;
  metadataService(): Pick<MetadataService, 'latest'>;
  refreshMetadata(): Observable<ClusterMetadata>;
  emitStatus(status: ClientStatus): void;
  finalWork<T>(source: Observable<T>): Observable<T>;
  setCursor(cursor: CursorPosition): Observable<void>;
  fetchCursor(cursor: CursorKey): Observable<bigint>;
  /** A subscription made on behalf of the member (its epoch on every Subscribe). */
  subscribe(stream: string, options: SubscribeOptions, member: GroupMember): Observable<Message>;
}

export function groupHost(core: ClientCore): GroupHost {
  return {
    options: core.options,
    run: (spec) => core.run(spec),
    anyBroker: () => core.routing.anyBroker(),
    metadataService: () => core.metadata,
    refreshMetadata: () => core.refreshMetadata(),
    emitStatus: (status) => core.emitStatus(status),
    finalWork: (source) => core.finalWork(source),
    setCursor: (cursor) => setCursor(core, cursor),
    fetchCursor: (cursor) => fetchCursor(core, cursor),
    subscribe: (stream, options, member) => subscribeStream(core, stream, options, member),
  };
}
