/**
 * The client's liveness, as an Observable of events (`client.status$`).
 */
import { BehaviorSubject, type Observable } from 'rxjs';
import type { LiftbridgeError } from './errors/errors.js';

/**
 * One status event. `status$` replays the latest one to new subscribers.
 *
 * - `idle`: created, nothing sent yet (`connect()` does no I/O until first use).
 * - `connecting` / `connected` / `disconnected`: a connection to `address` changed state.
 * - `reconnecting`: an operation failed with a retriable error and is retried after `delayMs`.
 * - `metadata`: a new cluster view arrived (brokers and leaders may have changed); `changed`
 *   lists the `stream/partition`s whose leader moved.
 * - `resubscribed`: a partition subscription broke and was set up again (after `reconnecting`).
 * - `group`: a consumer-group event (`joined`, `rebalanced` with the new `assignments`,
 *   `coordinator-changed`, `coordinator-reported`, `rejoining`, `left`).
 * - `closed`: `close()` or `destroy()` finished; the Observable completes after it.
 */
export type ClientStatus =
  | { readonly type: 'idle' }
  | { readonly type: 'connecting'; readonly address: string }
  | { readonly type: 'connected'; readonly address: string }
  | { readonly type: 'disconnected'; readonly address: string }
  | {
      readonly type: 'reconnecting';
      readonly rpc: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: LiftbridgeError;
      readonly address: string | undefined;
    }
  | { readonly type: 'metadata'; readonly brokers: readonly string[]; readonly changed: readonly string[] }
  | {
      readonly type: 'resubscribed';
      readonly stream: string;
      readonly partition: number;
      readonly address: string;
      /** Offset the subscription resumed from (undefined: its original start). */
      readonly fromOffset: bigint | undefined;
    }
  | {
      readonly type: 'group';
      readonly groupId: string;
      readonly consumerId: string;
      /** joined, rebalanced, coordinator-changed, coordinator-reported, rejoining, left */
      readonly event: string;
      readonly epoch: bigint | undefined;
      readonly [detail: string]: unknown;
    }
  | { readonly type: 'closed' };

/** Owns `status$`. @internal */
export class StatusReporter {
  private readonly subject = new BehaviorSubject<ClientStatus>({ type: 'idle' });
  readonly status$: Observable<ClientStatus> = this.subject.asObservable();

  emit(status: ClientStatus): void {
    if (this.subject.closed || this.subject.isStopped) return;
    this.subject.next(status);
  }

  close(): void {
    this.emit({ type: 'closed' });
    this.subject.complete();
  }
}
