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
 * @internal the public entry point is `LiftbridgeClient.group()`.
 */
import { randomUUID } from 'node:crypto';
import {
  EMPTY,
  Observable,
  type SchedulerLike,
  Subject,
  type Subscription,
  asyncScheduler,
  defer,
  firstValueFrom,
  from,
  map,
  of,
  retry,
  switchMap,
  takeUntil,
  tap,
  throwError,
  timer,
} from 'rxjs';
import type { GroupHost } from './group-host.js';
import {
  ConnectionError,
  ConsumerGroupError,
  CursorsDisabledError,
  InvalidArgumentError,
  LiftbridgeError,
  NoSuchStreamError,
  NotLeaderError,
  TimeoutError,
  InternalServerError,
} from '../errors/errors.js';
import { rejectUnknownKeys, requireDuration, requireInteger, requireNonEmptyString, requireObject, requireStreamName } from '../internal/validate.js';
import type { OffsetLedger } from '../subscribe/offset-ledger.js';
import { toSubscribePlan } from '../subscribe/subscribe.js';
import type { Message, StartPosition } from '../subscribe/types.js';
import { backoffDelay } from '../retry/retry-policy.js';
import { CURSORS_STREAM } from './cursor-routing.js';
import { type Membership, partitionKey, planAssignment, startMembership } from './group-membership.js';
import { COMMIT_LIFECYCLE, type CommitLifecycle, type PositionStore } from './position-store.js';

/** Options of `client.group()`. */
export interface GroupOptions {
  /** Streams the member consumes (all must exist). */
  streams: readonly string[];
  /** This member's id, unique in the group. @defaultValue a random UUID */
  consumerId?: string;
  /**
   * Where a partition starts when the group has no committed position for it.
   * @defaultValue StartAt.earliest()
   */
  startAt?: StartPosition;
  /** Per-partition bound of unsettled messages (see `SubscribeOptions.prefetch`). @defaultValue 256 */
  prefetch?: number;
  /**
   * How often assignments are polled (the poll is the membership heartbeat), in ms. A heartbeat
   * talks to the coordinator only. After "not a member" the member joins again with the client's
   * retry backoff.
   * @defaultValue 40% of the server's consumer timeout (6 s for the default 15 s)
   */
  pollIntervalMs?: number;
  /**
   * How long a revoked partition waits for the final writes of the `commit()`s writing to it
   * before it fences them off anyway, in ms.
   * @defaultValue 10000
   */
  revokeTimeoutMs?: number;
}

/** A partition assigned to this member. Pass it to `commit()` to store the group's position. */
export interface AssignedPartition extends PositionStore {
  readonly groupId: string;
  readonly consumerId: string;
  readonly stream: string;
  readonly partition: number;
  /**
   * Group epoch of the newest accepted assignment that gave this member the partition. The
   * partition's subscription claims the partition leader with it (never with a newer epoch learnt
   * elsewhere), so it can grow while the partition stays assigned.
   */
  readonly epoch: bigint;
  /** The cursor holding the group's position: `__group:<groupId>` (the Go client's convention). */
  readonly cursorId: string;
  /**
   * The partition's messages from the group's committed position + 1 (or `startAt` when none);
   * completes when the partition is revoked, the member leaves, or the group is unsubscribed.
   * Subscribed after revocation (or after it ended by itself), it completes at once without
   * subscribing to the broker.
   */
  readonly messages: Observable<Message>;
  /**
   * True once the partition was revoked from this member and fenced: its intake stopped, the
   * `commit()`s writing to this assignment finished their final writes (or `revokeTimeoutMs`
   * passed), and later position writes fail with {@link ConsumerGroupError}.
   */
  readonly revoked: boolean;
}

interface Held {
  readonly life: AssignmentLifecycle;
  /** Set once `messages` completed by itself (replaced, broker gone): re-issue if still assigned. */
  ended: boolean;
  /** Epoch of the newest accepted assignment that contains the partition: what it subscribes with. */
  epoch: bigint;
}

/**
 * The lifecycle of one assignment, as a small state machine, so that revocation happens in one
 * order: stop intake, let the commits writing to the assignment finish their final writes, then
 * fence further writes off.
 *
 * - `active`: messages flow; `commit()`s attach as they are subscribed.
 * - `draining` (revoked): `intakeStopped` has fired (the partition's `messages` completed, its
 *   gRPC call is cancelled); attached commits flush what is settled. Writes still go out.
 * - `fenced`: every attached commit detached (its last write ended) or `timeoutMs` passed.
 *   Writes fail with {@link ConsumerGroupError}.
 */
interface AssignmentLifecycle {
  readonly state: 'active' | 'draining' | 'fenced';
  readonly intakeStopped: Observable<void>;
  attach(onLedger?: (ledger: OffsetLedger) => void): () => void;
  /** The partition subscription's ledger, handed to attached commits (now and later ones). */
  ledger(ledger: OffsetLedger): void;
  /**
   * Whether intake ended, by revocation or by itself (a newer-epoch member replaced the
   * subscription, the broker ended it): another member may own the partition now.
   */
  readonly handedOver: boolean;
  /** `messages` completed by itself. */
  intakeEnded(): void;
  revoke(): void;
}

function assignmentLifecycle(timeoutMs: number, onFenced: (forced: boolean) => void): AssignmentLifecycle {
  let state: AssignmentLifecycle['state'] = 'active';
  let committers = 0;
  let ended = false;
  let current: OffsetLedger | undefined;
  const followers = new Set<(ledger: OffsetLedger) => void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const intake = new Subject<void>();
  const fence = (forced: boolean): void => {
    if (state === 'fenced') return;
    state = 'fenced';
    if (timer !== undefined) clearTimeout(timer);
    onFenced(forced);
  };
  return {
    get state() {
      return state;
    },
    get handedOver() {
      return ended || state !== 'active';
    },
    intakeEnded: () => {
      ended = true;
    },
    intakeStopped: intake.asObservable(),
    attach: (onLedger) => {
      if (state === 'fenced') return () => undefined;
      committers++;
      let attached = true;
      if (onLedger !== undefined) {
        followers.add(onLedger);
        if (current !== undefined) onLedger(current);
      }
      return () => {
        if (!attached) return;
        attached = false;
        if (onLedger !== undefined) followers.delete(onLedger);
        committers--;
        if (state === 'draining' && committers === 0) fence(false);
      };
    },
    ledger: (ledger) => {
      current = ledger;
      for (const f of [...followers]) f(ledger);
    },
    revoke: () => {
      if (state !== 'active') return;
      state = 'draining';
      // Completes `messages`: consume() finishes what it started, commit() writes its final position.
      intake.next();
      intake.complete();
      if (state !== 'draining') return;
      if (committers === 0) fence(false);
      else {
        timer = setTimeout(() => fence(true), timeoutMs);
        timer.unref?.();
      }
    },
  };
}

/** Default of `GroupOptions.revokeTimeoutMs`. */
export const DEFAULT_REVOKE_TIMEOUT_MS = 10_000;

/** Joins `groupId` and emits its assigned partitions. @internal */
export function consumerGroup(client: GroupHost, groupId: string, options: GroupOptions): Observable<AssignedPartition> {
  requireNonEmptyString('groupId', groupId);
  const o = requireObject('options', options);
  rejectUnknownKeys('options', o, ['streams', 'consumerId', 'startAt', 'prefetch', 'pollIntervalMs', 'revokeTimeoutMs']);
  if (!Array.isArray(o.streams) || o.streams.length === 0) throw new InvalidArgumentError('options.streams', 'expected at least one stream');
  const streams = [...new Set(o.streams.map((s: unknown, i: number) => requireStreamName(`options.streams[${i}]`, s)))];
  const consumerId = o.consumerId === undefined ? randomUUID() : requireNonEmptyString('options.consumerId', o.consumerId);
  const startAt: StartPosition = (o.startAt as StartPosition | undefined) ?? { type: 'earliest' };
  if (startAt.type === 'cursor' || startAt.type === 'stored') throw new InvalidArgumentError('options.startAt', 'must be a position, not a stored start');
  // Checked now, as subscribe() would (field `options.startAt...`), not later per assigned partition.
  toSubscribePlan(streams[0] as string, { startAt });
  const prefetch = o.prefetch === undefined ? undefined : requireInteger('options.prefetch', o.prefetch, 1, 1_000_000);
  const revokeTimeoutMs =
    o.revokeTimeoutMs === undefined ? DEFAULT_REVOKE_TIMEOUT_MS : requireDuration('options.revokeTimeoutMs', o.revokeTimeoutMs);
  const pollOverride = o.pollIntervalMs === undefined ? undefined : requireDuration('options.pollIntervalMs', o.pollIntervalMs, { allowZero: false });
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
        avoid === undefined ? coordinatorAt : coordinatorAt !== undefined && coordinatorAt !== avoid ? coordinatorAt : view?.brokers.find((b) => b.address !== avoid)?.address;
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
      // "already exists" and simply join again.
      for (let attempt = 1; ; attempt++) {
        try {
          return await joinOnce();
        } catch (e) {
          if (!(e instanceof LiftbridgeError && /group already exists/i.test(e.message)) || attempt > 10 || signal.aborted) throw e;
          await wait(backoffDelay(policy, attempt, random));
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
      if (seen === 'older') logger.info('group metadata from a broker behind on the log ignored', { groupId, epoch: String(group.epoch), known: String(m.epoch()) });
      return seen;
    };

    /**
     * Cursor reads and writes of the group's positions. A broker that restarts answers "cursors
     * stream does not exist" until it has caught up, which the client maps to
     * CursorsDisabledError: transient here unless metadata confirms that the stream is absent.
     */
    const cursorOp = <T>(op: () => Observable<T>): Observable<T> =>
      defer(() => {
        const started = scheduler.now();
        return defer(op).pipe(
          retry({
            delay: (e: unknown, count: number) => {
              if (!(e instanceof CursorsDisabledError) || signal.aborted) return throwError(() => e);
              const delayMs = backoffDelay(policy, count, random);
              if (scheduler.now() - started + delayMs > policy.totalTimeoutMs) return throwError(() => e);
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
      const key = partitionKey(stream, partition);
      const life = assignmentLifecycle(revokeTimeoutMs, (forced) => {
        if (forced) logger.warn('revoked partition fenced before its final commit ended', { groupId, stream, partition, revokeTimeoutMs });
      });
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
      const lifecycle: CommitLifecycle = {
        attach: (onLedger) => life.attach(onLedger),
        logger,
        get revoked() {
          return life.handedOver;
        },
      };
      const ap: AssignedPartition & { [COMMIT_LIFECYCLE]: CommitLifecycle } = {
        groupId,
        consumerId,
        stream,
        partition,
        get epoch() {
          return h.epoch;
        },
        cursorId,
        get revoked() {
          return life.state === 'fenced';
        },
        description: `group '${groupId}' ${stream}/${partition}`,
        load: (s, p) =>
          cursorOp(() => client.fetchCursor({ stream: s, partition: p, cursorId })).pipe(
            map((v) => (v < 0n ? undefined : v)),
            tap(known),
          ),
        save: (s, p, offset) => {
          if (life.state === 'fenced') {
            logger.info('position write fenced: partition revoked', { groupId, stream: s, partition: p, offset: String(offset) });
            return throwError(
              () => new ConsumerGroupError(`group ${groupId}: position write ${s}/${p} = ${offset} fenced off: the partition was revoked from this member`, false),
            );
          }
          if (s !== stream || p !== partition) return write(s, p, offset);
          if (lastSaved !== undefined && offset <= lastSaved) return of(undefined);
          if (!h.ended) return write(s, p, offset);
          // Our subscription ended by itself: a member with a newer epoch may own the partition
          // and have stored a higher position. Write only if ours is still ahead of it.
          return cursorOp(() => client.fetchCursor({ stream: s, partition: p, cursorId })).pipe(
            switchMap((stored) => {
              known(stored < 0n ? undefined : stored);
              if (stored >= offset) {
                logger.info('position write skipped: the stored position is ahead', { groupId, stream: s, partition: p, offset: String(offset), stored: String(stored) });
                return of(undefined);
              }
              return write(s, p, offset);
            }),
          );
        },
        messages: defer(() =>
          // Revoked (or superseded: its intake ended by itself, and the next accepted assignment
          // issues it again if still ours): complete at once, never subscribe again, which could
          // take the partition back from its new owner.
          life.handedOver
            ? EMPTY
            : client
                .subscribe(
                  stream,
                  { partition, startAt: { type: 'stored', store: ap, otherwise: startAt }, ...(prefetch === undefined ? {} : { prefetch }) },
                  // The epoch of the assignment, never a newer one learnt elsewhere: claiming a partition
                  // with an epoch whose assignment gave it to someone else would take it from its owner.
                  { groupId, consumerId, epoch: () => h.epoch, onLedger: (ledger) => life.ledger(ledger) },
                )
                .pipe(takeUntil(life.intakeStopped), (source) =>
                  new Observable<Message>((sub) =>
                    source.subscribe({
                      next: (m) => sub.next(m),
                      error: (e: unknown) => sub.error(e),
                      complete: () => {
                        if (life.state === 'active') {
                          // Ended by itself: reissued on the next accepted assignment if still ours.
                          // Until then another member may own it: commit() must not let held messages out.
                          h.ended = true;
                          life.intakeEnded();
                        }
                        sub.complete();
                      },
                    }),
                  ),
                ),
        ),
        [COMMIT_LIFECYCLE]: lifecycle,
      };
      const h: Held = { life, ended: false, epoch };
      held.set(key, h);
      out.next(ap);
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

    const isExpiry = (error: LiftbridgeError): boolean =>
      /not a member|does not exist/i.test(error.message) || (error.code === 'CONSUMER_GROUP' && error.grpcCode === 'NOT_FOUND');

    const run = async (): Promise<void> => {
      member = await join();
      if (signal.aborted) return;
      status('joined', { coordinator: member.coordinator() });
      let lastSuccess = scheduler.now();
      /** Re-joins since the last successful poll: sets the backoff before the next one. */
      let rejoins = 0;
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
          rejoins = 0;
          if (m.accept(res.epoch)) reconcile(res.epoch, res.assignments);
          else logger.warn('assignment from an older epoch ignored', { groupId, epoch: String(res.epoch), known: String(m.epoch()) });
        } catch (e) {
          if (signal.aborted) break;
          const error = e instanceof LiftbridgeError ? e : new ConnectionError(String(e));
          if (isExpiry(error)) {
            // Expired (missed heartbeats), removed, or a coordinator behind on the log: join
            // again, after the retry policy's backoff so that a coordinator that keeps saying so
            // is not flooded. Partitions stay held until the new assignment says otherwise.
            rejoins++;
            status('rejoining', { reason: error.message });
            await wait(backoffDelay(policy, rejoins, random));
            if (signal.aborted) break;
            member = await join();
            if (signal.aborted) break;
            status('joined', { coordinator: member.coordinator() });
            lastSuccess = scheduler.now();
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
                  call: (c, opts) =>
                    c.unary('reportConsumerGroupCoordinator', { groupId, consumerId, coordinator: m.coordinator(), epoch: m.epoch() }, opts),
                  retryable: transient,
                }),
              );
              status('coordinator-reported', { coordinator: m.coordinator() });
            } catch (reportError) {
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
              if (e instanceof LiftbridgeError && /not a member|does not exist/i.test(e.message)) logger.debug('nothing to leave', { groupId, error: e.message });
              else logger.warn('leaving the group failed', { groupId, error: String(e) });
            },
          });
        void leave;
        status('left');
      }
    };
  });
}

function transient(e: LiftbridgeError): boolean {
  return e instanceof ConnectionError || e instanceof TimeoutError || e instanceof InternalServerError || e instanceof NotLeaderError;
}

