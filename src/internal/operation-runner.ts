/**
 * Runs one broker RPC as a cold Observable with routing, per-attempt deadlines,
 * retries with backoff, failover to another broker and a total time budget. Every
 * public operation goes through here; reconnection is `retry({ delay })` over it.
 *
 * Internal: not exported from the package root.
 */
import {
  type Observable,
  type ObservableInput,
  type SchedulerLike,
  asyncScheduler,
  catchError,
  defer,
  from,
  retry,
  switchMap,
  throwError,
  timeout,
} from 'rxjs';
import { ClientClosedError, ConnectionError, LiftbridgeError, TimeoutError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import type { RetryPolicy } from '../retry/retry-policy.js';
import { retrySchedule } from '../core/retry-scheduler.js';
import type { Logger } from './logger.js';
import type { BrokerClient } from '../transport/connection-pool.js';
import { fromCall } from './from-call.js';

/**
 * How long an operation that shows the server no deadline waits for an answer at least: a broker
 * surveying a frozen peer answers after 3 s (its built-in survey timeout), plus a margin.
 */
export const SERVER_SURVEY_WAIT_MS = 3_500;

/** Per-attempt call options handed to nice-grpc. */
export interface AttemptOptions {
  readonly signal: AbortSignal;
  /** Undefined when the spec shows the server no deadline (`serverDeadline: false`). */
  readonly deadline: Date | undefined;
}

/** What one operation needs to know. */
export interface OperationSpec<T> {
  /** RPC name, for errors and status events. */
  readonly rpc: string;
  readonly stream?: string | undefined;
  readonly partition?: number | undefined;
  /** Chooses the broker for attempt `attempt` (0 = first); may wait for metadata. */
  readonly route: (attempt: number, lastError: LiftbridgeError | undefined) => ObservableInput<string>;
  /** Performs the call on the chosen broker. */
  readonly call: (client: BrokerClient, options: AttemptOptions, address: string) => Promise<T>;
  /** Whether this error may be retried (the retry limit and budget still apply). */
  readonly retryable: (error: LiftbridgeError, attempt: number) => boolean;
  /**
   * Turns an error into a result, e.g. "already exists" after a retried create counts
   * as success. Return undefined to keep the error.
   */
  readonly recover?: (error: LiftbridgeError, attempt: number) => Observable<T> | undefined;
  /** Overrides the policy (e.g. a per-call budget). */
  readonly policy?: RetryPolicy;
  /** Overrides the per-attempt deadline. */
  readonly callTimeoutMs?: number;
  /**
   * `false`: show the server no deadline, and wait for the answer at least
   * {@link SERVER_SURVEY_WAIT_MS} (within the operation's budget). For FetchMetadata: a broker
   * whose broker cache has expired (2 min by default) surveys its peers for the brokers list, and
   * while a peer is frozen it waits until the call's deadline, or 3 s without one, then answers
   * with the brokers that replied. Servers on newer gRPC-Go (Liftbridge's main) reset the stream
   * at the deadline instead of answering, so showing one would make every attempt fail for as
   * long as any peer is frozen.
   * @defaultValue true
   */
  readonly serverDeadline?: boolean;
}

/** Shared machinery the runner uses. */
export interface RunnerContext {
  readonly policy: RetryPolicy;
  readonly callTimeoutMs: number;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  /** Where a throwing `onRetry` callback is reported. */
  readonly logger?: Logger;
  client(address: string): BrokerClient;
  /** Whether a connection to `address` is established (to tell a black hole from a slow broker). */
  connected?(address: string): boolean;
  isClosed(): boolean;
  brokerFailed(address: string, error: LiftbridgeError): void;
  retrying(event: { rpc: string; attempt: number; delayMs: number; error: LiftbridgeError; address: string | undefined }): void;
}

/** Runs `spec` under the context's (or the spec's) retry policy. */
export function runOperation<T>(ctx: RunnerContext, spec: OperationSpec<T>): Observable<T> {
  return defer(() => {
    if (ctx.isClosed()) return throwError(() => new ClientClosedError(`${spec.rpc}: the client is closed`, { rpc: spec.rpc }));
    const policy = spec.policy ?? ctx.policy;
    const scheduler = ctx.scheduler ?? asyncScheduler;
    const startedAt = scheduler.now();
    // The one retry sequence of the client (src/core/retry-scheduler.ts): the whole operation is one outage.
    const schedule = retrySchedule({
      policy,
      scheduler,
      random: ctx.random,
      logger: ctx.logger,
      report: ({ attempt: n, delayMs, error }) => ctx.retrying({ rpc: spec.rpc, attempt: n, delayMs, error, address: lastAddress }),
    });
    schedule.begin();
    let attempt = 0;
    let lastError: LiftbridgeError | undefined;
    let lastAddress: string | undefined;
    let connectionFailures = 0;

    const once = defer(() => {
      const n = attempt++;
      if (ctx.isClosed()) return throwError(() => new ClientClosedError(`${spec.rpc}: the client is closed`, { rpc: spec.rpc }));
      return from(spec.route(n, lastError)).pipe(
        switchMap((address) => {
          lastAddress = address;
          const remaining = policy.totalTimeoutMs - (scheduler.now() - startedAt);
          const showDeadline = spec.serverDeadline !== false;
          const wanted = spec.callTimeoutMs ?? ctx.callTimeoutMs;
          const perCall = Math.max(1, Math.min(showDeadline ? wanted : Math.max(wanted, SERVER_SURVEY_WAIT_MS), remaining));
          const options: AttemptOptions = {
            signal: undefined as unknown as AbortSignal,
            deadline: showDeadline ? new Date(Date.now() + perCall) : undefined,
          };
          return fromCall((signal) => spec.call(ctx.client(address), { ...options, signal }, address)).pipe(
            showDeadline
              ? (source) => source
              : timeout({
                  first: perCall,
                  scheduler,
                  with: () =>
                    throwError(() =>
                      ctx.connected?.(address) === false
                        ? new ConnectionError(`${spec.rpc} broker=${address}: no connection within ${perCall} ms`, { rpc: spec.rpc, address, neverSent: true })
                        : new TimeoutError(`${spec.rpc} broker=${address}: no answer within ${perCall} ms`, { rpc: spec.rpc, address }),
                    ),
                }),
            catchError((raw: unknown) => {
              const error = mapError(raw, { rpc: spec.rpc, address, stream: spec.stream, partition: spec.partition });
              // A broker that refuses, drops or does not answer in time: try another next.
              if (error instanceof ConnectionError || error instanceof TimeoutError) ctx.brokerFailed(address, error);
              return throwError(() => error);
            }),
          );
        }),
        catchError((raw: unknown) => {
          const error = raw instanceof LiftbridgeError ? raw : mapError(raw, { rpc: spec.rpc, stream: spec.stream, partition: spec.partition });
          if (error instanceof ConnectionError) connectionFailures++;
          const recovered = spec.recover?.(error, n);
          return recovered ?? throwError(() => error);
        }),
      );
    });

    return once.pipe(
      retry({
        delay: (raw: unknown, retryCount: number) => {
          const error = raw instanceof LiftbridgeError ? raw : mapError(raw, { rpc: spec.rpc });
          lastError = error;
          if (error instanceof ClientClosedError || !spec.retryable(error, retryCount - 1)) return throwError(() => error);
          const next = schedule.next(error);
          if (next.kind === 'exhausted') {
            return throwError(() =>
              next.reason === 'retries'
                ? exhausted(spec.rpc, error, policy.maxRetries)
                : outOfBudget(spec.rpc, policy.totalTimeoutMs, error, connectionFailures),
            );
          }
          return schedule.delay(next.delayMs);
        },
      }),
      timeout({
        first: policy.totalTimeoutMs,
        scheduler,
        with: () => throwError(() => outOfBudget(spec.rpc, policy.totalTimeoutMs, lastError, connectionFailures)),
      }),
    );
  });
}

function exhausted(rpc: string, error: LiftbridgeError, retries: number): LiftbridgeError {
  if (error instanceof ConnectionError) {
    return new ConnectionError(`${rpc}: no broker reachable after ${retries} ${retries === 1 ? 'retry' : 'retries'}; last error: ${error.message}`, {
      cause: error,
      rpc,
      address: error.address,
      grpcCode: error.grpcCode,
    });
  }
  return error;
}

function outOfBudget(rpc: string, budgetMs: number, last: LiftbridgeError | undefined, connectionFailures: number): LiftbridgeError {
  const suffix = last === undefined ? '' : `; last error: ${last.message}`;
  if (last instanceof ConnectionError || (last === undefined && connectionFailures > 0)) {
    return new ConnectionError(`${rpc}: no broker reachable within the ${budgetMs} ms budget${suffix}`, { cause: last, rpc });
  }
  return new TimeoutError(`${rpc}: did not complete within the ${budgetMs} ms budget${suffix}`, { cause: last, rpc });
}
