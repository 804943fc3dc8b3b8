/**
 * Consumer groups: `client.group(groupId, { streams })` joins a group, keeps the membership
 * alive by polling its assignments from the coordinator, and emits one
 * {@link AssignedPartition} per partition the group gives this member. Each has its own
 * `messages` Observable, starting after the group's committed position, that completes when
 * the partition is revoked.
 *
 * A member never acts on an older group epoch (see group-membership.ts), claims each partition
 * with its assignment's epoch, and never writes a group position below one it read or wrote.
 *
 * Internal (not exported from the package root): the public entry point is `LiftbridgeClient.group()`.
 */
import { Observable, type SchedulerLike, type Subscription, asyncScheduler, defer, firstValueFrom, from, map, retry, switchMap, throwError, timer } from 'rxjs';
import type { GroupHost } from './group-host.js';
import { ConnectionError, CursorsDisabledError, LiftbridgeError, NoSuchStreamError, NotLeaderError, TimeoutError } from '../errors/errors.js';
import { type RetrySchedule, retrySchedule } from '../core/retry-scheduler.js';
import { CURSORS_STREAM } from './cursor-routing.js';
import { type Membership, partitionKey, planAssignment, startMembership } from './group-membership.js';
import { type Held, assignedPartition } from './assigned-partition.js';
import { isTransient as transient } from '../core/transient.js';
import { type AssignedPartition, type GroupOptions, resolveGroupOptions } from './group-options.js';
import { isExpiry, isGoneFromGroup, mismatchedEpoch } from './group-answers.js';

export { type AssignedPartition, DEFAULT_REVOKE_TIMEOUT_MS, type GroupOptions } from './group-options.js';

/** Join attempts when members race to create the group ("group already exists"). */
const MAX_JOIN_RACES = 10;

/** Joins `groupId` and emits its assigned partitions. @internal */
export function consumerGroup(client: GroupHost, groupId: string, options: GroupOptions): Observable<AssignedPartition> {
  const { streams, consumerId, startAt, prefetch, revokeTimeoutMs, pollOverride } = resolveGroupOptions(groupId, options);
  const cursorId = `__group:${groupId}`;
  const logger = client.options.logger;
  const scheduler: SchedulerLike = client.options.scheduler ?? asyncScheduler;
  const policy = client.options.retry;
  const random = client.options.random;

  return new Observable<AssignedPartition>((out) => {
    const abort = new AbortController();
    const signal = abort.signal;
    const held = new Map<string, Held>();
    let member: Membership | undefined;
    /** Settles when the latest JoinConsumerGroup request has: leaving waits for it, so no join outlives us. */
    let joinSettled: Promise<void> | undefined;
    let stopped = false;

    const status = (event: string, detail: Record<string, unknown> = {}): void => {
      client.emitStatus({ type: 'group', groupId, consumerId, event, epoch: member?.epoch(), ...detail });
    };

    /** Waits `ms` on the client's scheduler (virtual in tests); an abort ends the wait at once. */
    const wait = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        if (signal.aborted) {
          resolve();
          return;
        }
        const onAbort = (): void => {
          action.unsubscribe();
          resolve();
        };
        const action = scheduler.schedule(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        signal.addEventListener('abort', onAbort, { once: true });
      });

    /**
     * A retry sequence of the client's one retry scheduler (src/core/retry-scheduler.ts) with the
     * group's limits: decisions and delays follow the client's policy on the injected scheduler.
     * (Group retries are internal to the membership: they do not call `retry.onRetry`; they show
     * on `status$` as `group` events.)
     */
    const sequence = (maxRetries: number, totalTimeoutMs: number): RetrySchedule =>
      retrySchedule({ policy: { ...policy, maxRetries, totalTimeoutMs, onRetry: undefined }, scheduler, random, logger });

    /**
     * The coordinator's address from the cached cluster view: a heartbeat needs only the
     * coordinator, so a slow or frozen metadata broker cannot delay it. A fresh view is
     * fetched only when the cached one does not know the broker.
     */
    const coordinatorAddress = async (id: string): Promise<string> => {
      const cached = client.metadataService().latest()?.broker(id)?.address;
      if (cached !== undefined) return cached;
      const m = await firstValueFrom(client.refreshMetadata());
      const address = m.broker(id)?.address;
      if (address === undefined) throw new NotLeaderError(`group ${groupId}: coordinator ${id || '?'} is not a known broker`);
      return address;
    };

    /**
     * The group's coordinator and epoch, and whether the cursors stream exists, from one small
     * FetchMetadata (only `__cursors` and this group). Asks the coordinator first when it is
     * known (it is never behind on its own group), else any broker; with `avoid`, a broker other
     * than that one where the view knows one (to confirm what a possibly lagging broker said).
     */
    const groupView = async (avoid?: string): Promise<{ group: { coordinator: string; epoch: bigint } | undefined; cursors: boolean }> => {
      const view = client.metadataService().latest();
      const coordinator = member?.coordinator();
      const coordinatorAt = coordinator === undefined || coordinator === '' ? undefined : view?.broker(coordinator)?.address;
      const first =
        avoid === undefined
          ? coordinatorAt
          : coordinatorAt !== undefined && coordinatorAt !== avoid
            ? coordinatorAt
            : view?.brokers.find((b) => b.address !== avoid)?.address;
      const res = await firstValueFrom(
        client.run({
          rpc: 'FetchMetadata',
          route: (attempt) => [attempt === 0 && first !== undefined ? first : client.anyBroker()],
          call: (c, opts) => c.unary('fetchMetadata', { streams: [CURSORS_STREAM], groups: [groupId] }, opts),
          retryable: transient,
          serverDeadline: false,
        }),
      );
      const g = res.groupMetadata.find((x) => x.groupId === groupId);
      const cursors = res.streamMetadata.some((x) => x.name === CURSORS_STREAM && x.error === 0);
      return { group: g !== undefined && g.error === 0 ? { coordinator: g.coordinator, epoch: g.epoch } : undefined, cursors };
    };

    const join = async (): Promise<Membership> => {
      // Members joining a new group at once race to create it: the losers are told it
      // "already exists" and simply join again. The opposite race: the group's last member left
      // or expired (the group is deleted) between the broker's existence check and the
      // replicated join, which then fails with "consumer group does not exist" (NOT_FOUND);
      // joining again creates the group.
      const again = sequence(MAX_JOIN_RACES, Infinity);
      const raced = (e: unknown): boolean =>
        e instanceof LiftbridgeError &&
        (/group already exists/i.test(e.message) || (e.code === 'CONSUMER_GROUP' && /consumer group does not exist/i.test(e.message)));
      for (;;) {
        try {
          return await joinOnce();
        } catch (e) {
          if (!raced(e) || signal.aborted) throw e;
          const next = again.failed();
          if (next.kind === 'exhausted') throw e;
          await wait(next.delayMs);
        }
      }
    };

    const joinOnce = async (): Promise<Membership> => {
      const request = firstValueFrom(
        client.run({
          rpc: 'JoinConsumerGroup',
          route: () => [client.anyBroker()],
          call: (c, opts) => c.unary('joinConsumerGroup', { groupId, consumerId, streams }, opts),
          retryable: transient,
        }),
      );
      joinSettled = request.then(
        () => undefined,
        () => undefined,
      );
      try {
        const res = await request;
        return startMembership({
          coordinator: res.coordinator,
          epoch: res.epoch,
          consumerTimeoutMs: Number(res.consumerTimeout / 1_000_000n),
          coordinatorTimeoutMs: Number(res.coordinatorTimeout / 1_000_000n),
        });
      } catch (e) {
        if (e instanceof LiftbridgeError && /already a member/i.test(e.message)) {
          // A retry of our own join that had already succeeded, or a coordinator behind on the
          // log: we are a member; look the group up for its coordinator and epoch.
          const { group } = await groupView();
          return startMembership({
            coordinator: group?.coordinator ?? '',
            epoch: group?.epoch ?? 0n,
            consumerTimeoutMs: member?.consumerTimeoutMs ?? 15_000,
            coordinatorTimeoutMs: member?.coordinatorTimeoutMs ?? 15_000,
          });
        }
        if (e instanceof LiftbridgeError && e.code === 'CONSUMER_GROUP' && /stream/i.test(e.message)) {
          throw new NoSuchStreamError(e.message, { cause: e, rpc: 'JoinConsumerGroup', address: e.address });
        }
        throw e;
      }
    };

    /** Learns a newer coordinator or epoch from group metadata; an older one is ignored. */
    const refreshGroup = async (m: Membership): Promise<'newer' | 'same' | 'older' | 'unknown'> => {
      const { group } = await groupView();
      if (group === undefined) return 'unknown';
      const previous = m.coordinator();
      const seen = m.observe(group);
      if (seen === 'newer' && group.coordinator !== previous) status('coordinator-changed', { coordinator: group.coordinator, previous });
      if (seen === 'older')
        logger.info('group metadata from a broker behind on the log ignored', { groupId, epoch: String(group.epoch), known: String(m.epoch()) });
      return seen;
    };

    /**
     * Cursor reads and writes of the group's positions. A broker that restarts answers "cursors
     * stream does not exist" until it has caught up, which the client maps to
     * CursorsDisabledError: transient here unless metadata confirms that the stream is absent.
     */
    const cursorOp = <T>(op: () => Observable<T>): Observable<T> =>
      defer(() => {
        const outage = sequence(Infinity, policy.totalTimeoutMs);
        outage.begin();
        return defer(op).pipe(
          retry({
            delay: (e: unknown) => {
              if (!(e instanceof CursorsDisabledError) || signal.aborted) return throwError(() => e);
              const next = outage.failed();
              if (next.kind === 'exhausted') return throwError(() => e);
              const delayMs = next.delayMs;
              return from(groupView(e.address)).pipe(
                switchMap((v) => {
                  if (!v.cursors) return throwError(() => e);
                  logger.warn('cursors not found on a broker that is catching up; retrying', { groupId, error: e.message, delayMs });
                  return timer(delayMs, scheduler);
                }),
              );
            },
          }),
        );
      });

    const revoke = (key: string): void => {
      const h = held.get(key);
      if (h === undefined) return;
      held.delete(key);
      // Stop intake, let attached commit()s finish their final writes, then fence.
      h.life.revoke();
    };

    const assign = (stream: string, partition: number, epoch: bigint): void => {
      const { held: h, assigned } = assignedPartition(
        { host: client, cursorOp, groupId, consumerId, cursorId, startAt, prefetch, revokeTimeoutMs, logger },
        stream,
        partition,
        epoch,
      );
      held.set(partitionKey(stream, partition), h);
      out.next(assigned);
    };

    /** Acts on an accepted assignment: revokes what is gone, keeps what stays, issues what is new. */
    const reconcile = (epoch: bigint, assignments: { stream: string; partitions: number[] }[]): void => {
      const wanted = new Map<string, [string, number]>();
      for (const a of assignments) for (const p of [...a.partitions].sort((x, y) => x - y)) wanted.set(partitionKey(a.stream, p), [a.stream, p]);
      const plan = planAssignment(held, wanted.keys());
      for (const key of plan.revoke) revoke(key);
      for (const key of plan.keep) (held.get(key) as Held).epoch = epoch;
      for (const key of plan.reissue) revoke(key);
      for (const key of [...plan.reissue, ...plan.add]) {
        const [stream, partition] = wanted.get(key) as [string, number];
        assign(stream, partition, epoch);
      }
      if (plan.revoke.length > 0 || plan.add.length > 0) {
        status('rebalanced', {
          epoch,
          assignments: assignments.map((a) => ({ stream: a.stream, partitions: [...a.partitions].sort((x, y) => x - y) })),
        });
      }
    };

    const run = async (): Promise<void> => {
      member = await join();
      if (signal.aborted) return;
      status('joined', { coordinator: member.coordinator() });
      let lastSuccess = scheduler.now();
      /** Re-joins since the last successful poll: sets the backoff before the next one (no limit). */
      const rejoins = sequence(Infinity, Infinity);
      /**
       * Expired (missed heartbeats), removed, the group deleted, or a coordinator behind on the
       * log: join again, after the retry policy's backoff so that a coordinator that keeps saying
       * so is not flooded. Partitions stay held until the new assignment says otherwise.
       */
      const rejoin = async (reason: string): Promise<void> => {
        status('rejoining', { reason });
        const next = rejoins.failed();
        await wait(next.kind === 'retry' ? next.delayMs : policy.maxDelayMs);
        if (signal.aborted) return;
        const previous = member?.coordinator() ?? '';
        member = await join();
        if (signal.aborted) return;
        status('joined', { coordinator: member.coordinator() });
        // The group may have a new coordinator now (the old one died and the group was made anew).
        if (previous !== '' && member.coordinator() !== '' && member.coordinator() !== previous)
          status('coordinator-changed', { coordinator: member.coordinator(), previous });
        lastSuccess = scheduler.now();
      };
      while (!signal.aborted) {
        const m: Membership = member;
        const epoch = m.epoch();
        let pollAgainNow = false;
        try {
          const address = await coordinatorAddress(m.coordinator());
          const res = await firstValueFrom(
            client.run({
              rpc: 'FetchConsumerGroupAssignments',
              route: () => [address],
              call: (c, opts) => c.unary('fetchConsumerGroupAssignments', { groupId, consumerId, epoch }, opts),
              retryable: () => false,
            }),
          );
          if (signal.aborted) break;
          lastSuccess = scheduler.now();
          rejoins.recovered();
          if (m.accept(res.epoch)) reconcile(res.epoch, res.assignments);
          else logger.warn('assignment from an older epoch ignored', { groupId, epoch: String(res.epoch), known: String(m.epoch()) });
        } catch (e) {
          if (signal.aborted) break;
          const error = e instanceof LiftbridgeError ? e : new ConnectionError(String(e));
          if (isExpiry(error)) {
            await rejoin(error.message);
            continue;
          }
          logger.warn('group poll failed', { groupId, error: error.message });
          if (error instanceof ConnectionError || error instanceof TimeoutError) {
            // The cached address may be stale: refresh the view in the background (never
            // awaited, so a slow metadata broker cannot hold the heartbeat up).
            client.refreshMetadata().subscribe({ error: (e: unknown) => logger.debug('metadata refresh failed', { groupId, error: String(e) }) });
          }
          try {
            pollAgainNow = (await refreshGroup(m)) === 'newer';
          } catch (refreshError) {
            logger.warn('group metadata refresh failed', { groupId, error: String(refreshError) });
          }
          if (!pollAgainNow && scheduler.now() - lastSuccess > m.coordinatorTimeoutMs) {
            // The coordinator seems gone: tell the cluster, which fails it over once more than
            // half the members report it within the coordinator timeout. Report on every failed
            // poll from now on, so that the members' reports fall into one window.
            try {
              await firstValueFrom(
                client.run({
                  rpc: 'ReportConsumerGroupCoordinator',
                  route: () => [client.anyBroker()],
                  call: (c, opts) => c.unary('reportConsumerGroupCoordinator', { groupId, consumerId, coordinator: m.coordinator(), epoch: m.epoch() }, opts),
                  retryable: (e) => transient(e) && mismatchedEpoch(e) === undefined,
                }),
              );
              status('coordinator-reported', { coordinator: m.coordinator() });
            } catch (reportError) {
              const current = mismatchedEpoch(reportError);
              if ((isGoneFromGroup(reportError) || (current !== undefined && current < m.epoch())) && !signal.aborted) {
                await rejoin((reportError as LiftbridgeError).message);
                continue;
              }
              logger.warn('coordinator report failed', { groupId, error: String(reportError) });
            }
          }
        }
        if (!pollAgainNow) await wait(pollOverride ?? Math.max(100, Math.floor(m.consumerTimeoutMs * 0.4)));
      }
    };

    run().then(
      () => undefined,
      (e: unknown) => {
        if (stopped) return;
        for (const key of [...held.keys()]) revoke(key);
        out.error(e);
      },
    );

    return () => {
      stopped = true;
      abort.abort();
      for (const key of [...held.keys()]) revoke(key);
      const joined = joinSettled;
      if (joined !== undefined) {
        // Leave so the group rebalances now instead of after the consumer timeout. A join
        // still in flight may yet succeed: the leave waits for it, so no member is left behind.
        const leave: Subscription = client
          .run({
            rpc: 'LeaveConsumerGroup',
            route: () => from(joined).pipe(map(() => client.anyBroker())),
            call: (c, opts) => c.unary('leaveConsumerGroup', { groupId, consumerId }, opts),
            retryable: transient,
          })
          .subscribe({
            error: (e: unknown) => {
              // The join failed or we had expired already: nothing to leave.
              if (e instanceof LiftbridgeError && /not a member|does not exist/i.test(e.message))
                logger.debug('nothing to leave', { groupId, error: e.message });
              else logger.warn('leaving the group failed', { groupId, error: String(e) });
            },
          });
        void leave;
        status('left');
      }
    };
  });
}
