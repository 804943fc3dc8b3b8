/**
 * What the publish layer uses of a client: what the core provides. `LiftbridgeClient` satisfies this
 * interface structurally; unit specs pass small fakes.
 *
 * Internal: not exported from the package root.
 */
import type { Observable } from 'rxjs';
import type { ResolvedClientOptions } from '../client-options.js';
import type { OperationSpec } from '../internal/operation-runner.js';
import type { MetadataService } from '../metadata/metadata-service.js';
import type { ClientStatus } from '../status.js';
import type { StreamLease } from '../transport/connection-pool.js';
import type { PublishTransport, PublishTransportKind } from '../transport/publish-call.js';

export interface PublisherHost {
  readonly options: ResolvedClientOptions;
  run<T>(spec: OperationSpec<T>, kind?: 'unary' | 'stream'): Observable<T>;
  track<T>(source: Observable<T>, kind: 'unary' | 'stream'): Observable<T>;
  acquireStream(address: string): StreamLease;
  metadataService(): MetadataService;
  emitStatus(status: ClientStatus): void;
  readonly status$: Observable<ClientStatus>;
  brokerFailed(address: string): void;
  /** What opens PublishAsync calls of that kind, on the client's wire boundary (src/transport/wire.ts). */
  publishTransport(kind: PublishTransportKind): PublishTransport;
}
