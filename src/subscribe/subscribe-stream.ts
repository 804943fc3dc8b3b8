/**
 * `subscribe()`: the plan of a subscription (partitions, start, stored start) turned into one
 * partition stream per partition, over the core's routing and connection pool.
 *
 * Internal (not exported from the package root): the public entry point is `LiftbridgeClient.subscribe()`.
 */
import { type Observable, defaultIfEmpty, defer, tap, from, map, merge, of, switchMap, take } from 'rxjs';
import type { ClientCore } from '../core/client-core.js';
import { fetchPartitionMetadata } from '../admin/admin-operations.js';
import { cursorStore } from '../consume/position-store.js';
import { StartPosition as WireStartPosition, type SubscribeRequest } from '../generated/liftbridge/api.js';
import { tagMessage } from '../observability/consume-hooks.js';
import { instrumentationOf } from '../observability/instrumentation.js';
import { requireStreamName, validated } from '../internal/validate.js';
import { resolveRetryPolicy } from '../retry/retry-policy.js';
import { type GroupMember, type PartitionStreamContext, partitionMessages } from './partition-stream.js';
import { toSubscribePlan } from './subscribe.js';
import type { Message, SubscribeOptions } from './types.js';

export function subscribeStream(core: ClientCore, stream: string, options: SubscribeOptions, member?: GroupMember): Observable<Message> {
  return validated(() => {
    const name = requireStreamName('stream', stream);
    const plan = toSubscribePlan(name, options);
    const o = core.options;
    const routing = core.routing;
    const ctx: PartitionStreamContext = {
      policy: plan.retry === undefined ? o.retry : resolveRetryPolicy(plan.retry, 'options.retry', o.retry, { unbounded: true }),
      callTimeoutMs: o.callTimeoutMs,
      logger: o.logger,
      scheduler: o.scheduler,
      random: o.random,
      address: (s, p, refresh) => (plan.readIsrReplica ? routing.replicaAddress(s, p, refresh) : routing.leaderAddress(s, p, refresh)),
      acquireStream: (address) => core.acquireStream(address),
      openSubscribe: (address, request, handlers) => core.subscribeTransport(plan.transport).open(address, request, handlers),
      newestOffset: (s, p) => fetchPartitionMetadata(core, s, p).pipe(map((info) => info.newestOffset)),
      partitionPaused: (s, p) => core.metadata.refresh().pipe(map((m) => m.partition(s, p)?.paused === true)),
      brokerFailed: (address) => core.brokerFailed(address),
      emitStatus: (status) => core.emitStatus(status),
      register: (stats) => {
        core.partitionStats.add(stats);
        return () => core.partitionStats.delete(stats);
      },
      confirmNotFound: (e, s, p) => routing.retryUnlessConfirmed(e, s, [p]),
      callStarted: () => core.subscribeCallStarted(),
    };
    const partitions$: Observable<readonly number[]> = plan.partitions === 'all' ? routing.allPartitions(name) : of(plan.partitions);
    const stored = plan.storedStart;
    const store = stored === undefined ? undefined : 'store' in stored ? stored.store : cursorStore(core, stored.cursorId);
    const one = (base: SubscribeRequest, partition: number): Observable<Message> => {
      const request = { ...base, partition };
      if (store === undefined) return partitionMessages(ctx, request, plan.prefetch, member);
      // Resume after the stored position (the last processed offset), else the fallback start.
      return from(store.load(name, partition)).pipe(
        take(1),
        defaultIfEmpty(undefined),
        switchMap((last) =>
          partitionMessages(
            ctx,
            last === undefined ? request : { ...request, startPosition: WireStartPosition.OFFSET, startOffset: last + 1n },
            plan.prefetch,
            member,
          ),
        ),
      );
    };
    // Relative start positions are resolved now, when the Observable is subscribed (cold).
    const source = partitions$.pipe(
      switchMap((ids) => {
        const base = plan.request(o.scheduler.now());
        return merge(...ids.map((id) => one(base, id)));
      }),
    );
    // An instrumented client (setInstrumentation) tags each message with its hooks for consume().
    const instrumented = defer(() => {
      const hooks = instrumentationOf(core);
      return hooks?.consumeStarted === undefined ? source : source.pipe(tap((m) => tagMessage(m, hooks, o.logger)));
    });
    return core.track(instrumented, 'stream');
  });
}
