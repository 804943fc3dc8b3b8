/**
 * One way to retry: the runner (unary operations), a partition stream's resume loop, a publish
 * pipeline's resend rounds and a group member's re-join loop take their decisions and delays from
 * the core's retry scheduler (src/core/retry-scheduler.ts). Driven here in virtual time through the
 * same policy: each waits backoffDelay(policy, n) before attempt n + 1, on the injected scheduler,
 * and the three bounded loops give up after `maxRetries`.
 */
import { EventEmitter } from 'node:events';
import { Status } from 'nice-grpc-common';
import { NEVER, Observable, VirtualTimeScheduler, defer, firstValueFrom, from, of, throwError } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { consumerGroup } from '../../src/consume/consumer-group.js';
import type { GroupHost } from '../../src/consume/group-host.js';
import { retrySchedule } from '../../src/core/retry-scheduler.js';
import { ConnectionError, type LiftbridgeError } from '../../src/errors/errors.js';
import { mapError } from '../../src/errors/map-error.js';
import { type OperationSpec, runOperation } from '../../src/internal/operation-runner.js';
import { ClusterMetadata } from '../../src/metadata/cluster-metadata.js';
import { PublishLanes } from '../../src/publish/publish-lanes.js';
import { PUBLISH_BULK_KEYS, resolvePublishOptions } from '../../src/publish/publish-options.js';
import { PublishPipeline } from '../../src/publish/publish-pipeline.js';
import type { PublisherHost } from '../../src/publish/publisher-host.js';
import { DEFAULT_RETRY, type RetryPolicy, backoffDelay } from '../../src/retry/retry-policy.js';
import type { ClientStatus } from '../../src/status.js';
import { partitionMessages } from '../../src/subscribe/partition-stream.js';
import type { CallHandlers, PublishTransport } from '../../src/transport/publish-call.js';
import { leaderView, loopbackBrokers, subscribeRequest } from '../support/fixtures/wire.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const unavailable = (): Error =>
  Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: Status.UNAVAILABLE, details: 'connection refused', metadata: {} });

/** The one policy all three loops run with. */
function policy(onRetry?: RetryPolicy['onRetry']): RetryPolicy {
  return { ...DEFAULT_RETRY, initialDelayMs: 100, multiplier: 2, maxDelayMs: 800, jitter: 0.5, maxRetries: 4, totalTimeoutMs: 60_000, onRetry };
}
const random = (): number => 0.25;
/** The delays the policy prescribes before retries 1..n. */
const expected = (n: number): number[] => Array.from({ length: n }, (_, i) => backoffDelay(policy(), i + 1, random));
const gaps = (times: readonly number[]): number[] => times.slice(1).map((t, i) => t - (times[i] as number));

/** Advances virtual time in small steps, letting promises (the fake calls) settle in between. */
async function runUntil(scheduler: VirtualTimeScheduler, endMs: number, done: () => boolean = () => false): Promise<void> {
  for (let t = 0; t <= endMs && !done(); t += 5) {
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    scheduler.maxFrames = t;
    scheduler.flush();
  }
}

const subs: { unsubscribe(): void }[] = [];
afterEach(() => subs.splice(0).forEach((s) => s.unsubscribe()));

describe('the core retry scheduler', () => {
  it('a sequence notifies onRetry and report once per retry, and a throwing callback does not break it', () => {
    const seen: string[] = [];
    const scheduler = new VirtualTimeScheduler();
    const warnings: unknown[] = [];
    const s = retrySchedule({
      policy: policy(() => {
        seen.push('onRetry');
        throw new Error('user callback');
      }),
      scheduler,
      random,
      logger: { warn: (...a: unknown[]) => warnings.push(a) },
      report: (e) => {
        seen.push(`report ${e.attempt} ${e.delayMs}`);
        throw new Error('report');
      },
    });
    const error = new ConnectionError('x');
    const decisions = Array.from({ length: 5 }, () => s.next(error));
    expect(decisions.map((d) => (d.kind === 'retry' ? d.delayMs : d.reason))).toEqual([...expected(4), 'retries']);
    expect(seen).toEqual(expected(4).flatMap((d, i) => ['onRetry', `report ${i + 1} ${d}`]));
    expect(warnings).toHaveLength(8);
  });

  it('drives the runner, a partition stream, a publish pipeline and the group loop through the same policy in virtual time', async () => {
    // 1. The runner: a unary call whose broker refuses every attempt.
    const runnerScheduler = new VirtualTimeScheduler();
    const runnerCalls: number[] = [];
    const runnerRetries: number[] = [];
    const onRetryDelays: number[] = [];
    let runnerError: LiftbridgeError | undefined;
    const spec: OperationSpec<unknown> = {
      rpc: 'FetchMetadata',
      route: () => ['127.0.0.1:1'],
      call: (c, opts) => c.unary('fetchMetadata', { streams: [], groups: [] }, opts),
      retryable: () => true,
    };
    subs.push(
      runOperation(
        {
          policy: policy((_e, _a, delayMs) => onRetryDelays.push(delayMs)),
          callTimeoutMs: 1_000,
          scheduler: runnerScheduler,
          random,
          logger: silent,
          client: () =>
            ({
              unary: () => {
                runnerCalls.push(runnerScheduler.now());
                return Promise.reject(unavailable());
              },
            }) as never,
          connected: () => true,
          isClosed: () => false,
          brokerFailed: () => undefined,
          retrying: (e) => runnerRetries.push(e.delayMs),
        },
        spec,
      ).subscribe({ error: (e: LiftbridgeError) => (runnerError = e) }),
    );
    await runUntil(runnerScheduler, 5_000, () => runnerError !== undefined);

    // 2. A partition stream whose every Subscribe call breaks at once.
    const streamScheduler = new VirtualTimeScheduler();
    const streamCalls: { at: number; call: EventEmitter & { broken?: boolean } }[] = [];
    const streamStatuses: ClientStatus[] = [];
    let streamError: LiftbridgeError | undefined;
    subs.push(
      partitionMessages(
        {
          policy: policy(),
          callTimeoutMs: 10_000,
          scheduler: streamScheduler,
          random,
          logger: silent,
          address: () => of('127.0.0.1:1'),
          acquireStream: () => ({
            connectionId: 1,
            release: () => undefined,
            client: {
              subscribe: () => {
                const call = Object.assign(new EventEmitter(), { pause() {}, resume() {}, cancel() {} });
                streamCalls.push({ at: streamScheduler.now(), call });
                return call;
              },
            } as never,
          }),
          brokerFailed: () => undefined,
          emitStatus: (s) => streamStatuses.push(s),
          register: () => () => undefined,
          partitionPaused: () => of(false),
          newestOffset: () => of(-1n),
          callStarted: () => () => undefined,
          confirmNotFound: (e) => throwError(() => e),
        },
        subscribeRequest(),
        16,
      ).subscribe({ error: (e: LiftbridgeError) => (streamError = e) }),
    );
    for (let t = 0; t <= 5_000 && streamError === undefined; t += 5) {
      for (const c of streamCalls) {
        if (c.call.broken === true) continue;
        c.call.broken = true;
        const error = Object.assign(new Error('connection refused'), { code: Status.UNAVAILABLE, details: 'connection refused' });
        c.call.emit('error', error);
        c.call.emit('end');
        c.call.emit('status', { code: Status.UNAVAILABLE, details: 'connection refused' });
      }
      await new Promise((r) => setImmediate(r));
      streamScheduler.maxFrames = t;
      streamScheduler.flush();
    }

    // 3. A group member whose coordinator says "not a member" at every poll: it re-joins with the backoff.
    const groupScheduler = new VirtualTimeScheduler();
    const joins: number[] = [];
    const metadata = new ClusterMetadata(
      [{ id: 'c1', host: '127.0.0.1', port: 1000, address: '127.0.0.1:1000', partitionCount: 0, leaderCount: 0 }],
      [],
      new Date(),
      '127.0.0.1:1000',
    );
    const answers: Record<string, () => unknown> = {
      joinConsumerGroup: () => {
        joins.push(groupScheduler.now());
        return { coordinator: 'c1', epoch: 1n, consumerTimeout: 15_000_000_000n, coordinatorTimeout: 15_000_000_000n };
      },
      fetchConsumerGroupAssignments: () => {
        throw Object.assign(new Error('9 FAILED_PRECONDITION: consumer is not a member of the consumer group'), {
          code: Status.FAILED_PRECONDITION,
          details: 'consumer is not a member of the consumer group',
          metadata: {},
        });
      },
    };
    const host: GroupHost = {
      options: { logger: silent, retry: policy(), scheduler: groupScheduler, random },
      run: <T>(s: OperationSpec<T>) =>
        defer(async () => {
          const address = await firstValueFrom(from(s.route(0, undefined)));
          const broker = { unary: (method: string) => Promise.resolve().then(() => (answers[method] as () => unknown)()) };
          try {
            return await s.call(broker as never, { signal: new AbortController().signal, deadline: undefined }, address);
          } catch (e) {
            throw mapError(e, { rpc: s.rpc, address });
          }
        }),
      anyBroker: () => '127.0.0.1:1000',
      metadataService: () => ({ latest: () => metadata }),
      refreshMetadata: () => of(metadata),
      emitStatus: () => undefined,
      finalWork: (w) => w,
      setCursor: () => of(undefined),
      fetchCursor: () => of(-1n),
      subscribe: () => new Observable(() => undefined),
    };
    subs.push(consumerGroup(host, 'g', { streams: ['s'], consumerId: 'a' }).subscribe());
    await runUntil(groupScheduler, 2_500, () => joins.length >= 6);

    // 4. A publish pipeline whose every PublishAsync call breaks at once: it resends in rounds.
    const publishScheduler = new VirtualTimeScheduler();
    const publishCalls: { at: number; handlers: CallHandlers; broken?: boolean }[] = [];
    const publishStatuses: ClientStatus[] = [];
    const publishOnRetry: number[] = [];
    const publishResults: unknown[] = [];
    // Five brokers: each failed one is quarantined, so every round still finds one to try.
    const brokers = loopbackBrokers(['b1', 'b2', 'b3', 'b4', 'b5'], 1);
    const publishView = leaderView('s', brokers, ['127.0.0.1:1']);
    const publishTransport: PublishTransport = {
      open: (_address, handlers) => {
        publishCalls.push({ at: publishScheduler.now(), handlers });
        return { write: () => undefined, end: () => undefined, cancel: () => undefined };
      },
    };
    const publishPolicy = policy((_e, _a, delayMs) => publishOnRetry.push(delayMs));
    const publisherHost = {
      options: { retry: publishPolicy, scheduler: publishScheduler, random, logger: silent, brokers: ['127.0.0.1:1'] },
      track: <T>(o: Observable<T>) => o,
      run: () => NEVER,
      metadataService: () => ({ latest: () => publishView, refresh: () => of(publishView), get: () => of(publishView) }),
      emitStatus: (s: ClientStatus) => publishStatuses.push(s),
      brokerFailed: () => undefined,
      status$: NEVER,
    } as unknown as PublisherHost;
    const publishConfig = resolvePublishOptions('options', { failFast: false }, PUBLISH_BULK_KEYS, {}, publishPolicy);
    subs.push(
      new Observable<unknown>((sub) => {
        const p = new PublishPipeline(publisherHost, publishConfig, 's', sub, { lanes: new PublishLanes(publishTransport, silent), owned: true });
        p.start(['m']);
        return () => p.stop();
      }).subscribe({ next: (r) => publishResults.push(r) }),
    );
    for (let t = 0; t <= 5_000 && publishResults.length === 0; t += 5) {
      for (const c of publishCalls) {
        if (c.broken === true) continue;
        c.broken = true;
        c.handlers.onError(new ConnectionError('connection refused', { address: '127.0.0.1:1' }));
      }
      await new Promise((r) => setImmediate(r));
      publishScheduler.maxFrames = t;
      publishScheduler.flush();
    }
    const publishOutcome = publishResults[0] as { ok: boolean; error?: LiftbridgeError } | undefined;
    const publishError: LiftbridgeError | undefined = publishOutcome?.error;

    // The same prescribed delays everywhere, in virtual time.
    expect(gaps(runnerCalls)).toEqual(expected(4));
    expect(runnerRetries).toEqual(expected(4));
    expect(onRetryDelays).toEqual(expected(4));
    expect(runnerError).toBeInstanceOf(ConnectionError);

    expect(gaps(streamCalls.map((c) => c.at))).toEqual(expected(4));
    expect(streamStatuses.flatMap((s) => (s.type === 'reconnecting' ? [s.delayMs] : []))).toEqual(expected(4));
    expect(streamError).toBeInstanceOf(ConnectionError);

    expect(gaps(publishCalls.map((c) => c.at))).toEqual(expected(4));
    expect(publishStatuses.flatMap((s) => (s.type === 'reconnecting' ? [s.delayMs] : []))).toEqual(expected(4));
    expect(publishOnRetry).toEqual(expected(4));
    expect(publishOutcome?.ok).toBe(false);
    expect(publishError).toBeInstanceOf(ConnectionError);

    // The group re-joins without a limit (its own limits on the same policy): the first four gaps match, then the cap.
    expect(gaps(joins).slice(0, 4)).toEqual(expected(4));
    expect(gaps(joins)[4]).toBe(backoffDelay(policy(), 5, random));
  });
});
