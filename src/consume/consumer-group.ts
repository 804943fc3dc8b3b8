/**
 * Consumer groups: `client.group(groupId, { streams })` joins a group, keeps the membership
 * alive by polling its assignments from the coordinator, and emits one
 * {@link AssignedPartition} per partition the group gives this member. Each has its own
 * `messages` Observable, starting after the group's committed position, that completes when
 * the partition is revoked.
 *
 * @internal the public entry point is `LiftbridgeClient.group()`.
 */
import { randomUUID } from 'node:crypto';
import { EMPTY, Observable, Subject, defer, firstValueFrom, map, of, takeUntil, tap, throwError, type Subscription } from 'rxjs';
import type { LiftbridgeClient } from '../client.js';
import {
  ConnectionError,
  ConsumerGroupError,
  InvalidArgumentError,
  LiftbridgeError,
  NoSuchStreamError,
  NotLeaderError,
  TimeoutError,
  InternalServerError,
} from '../errors/errors.js';
import { rejectUnknownKeys, requireDuration, requireInteger, requireNonEmptyString, requireObject, requireStreamName } from '../internal/validate.js';
import { toSubscribePlan } from '../subscribe/subscribe.js';
import type { OffsetLedger } from '../subscribe/offset-ledger.js';
import type { Message, StartPosition } from '../subscribe/types.js';
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
   * How often assignments are polled (the poll is the membership heartbeat), in ms.
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

/** Default of `GroupOptions.revokeTimeoutMs`. */
export const DEFAULT_REVOKE_TIMEOUT_MS = 10_000;

/** A partition assigned to this member. Pass it to `commit()` to store the group's position. */
export interface AssignedPartition extends PositionStore {
  readonly groupId: string;
  readonly consumerId: string;
  readonly stream: string;
  readonly partition: number;
  /** Group epoch of the assignment. */
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

interface Membership {
  coordinator: string;
  epoch: bigint;
  consumerTimeoutMs: number;
  coordinatorTimeoutMs: number;
}

interface Held {
  readonly life: AssignmentLifecycle;
  /** Set once `messages` completed by itself (replaced, broker gone): re-issue if still assigned. */
  ended: boolean;
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

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Joins `groupId` and emits its assigned partitions. @internal */
export function consumerGroup(client: LiftbridgeClient, groupId: string, options: GroupOptions): Observable<AssignedPartition> {
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
  const pollOverride = o.pollIntervalMs === undefined ? undefined : requireDuration('options.pollIntervalMs', o.pollIntervalMs, { allowZero: false });
  const revokeTimeoutMs =
    o.revokeTimeoutMs === undefined ? DEFAULT_REVOKE_TIMEOUT_MS : requireDuration('options.revokeTimeoutMs', o.revokeTimeoutMs);
  const cursorId = `__group:${groupId}`;
  const logger = client.options.logger;

  return new Observable<AssignedPartition>((out) => {
    const abort = new AbortController();
    const signal = abort.signal;
    const held = new Map<string, Held>();
    let member: Membership | undefined;
    let stopped = false;

    const status = (event: string, detail: Record<string, unknown> = {}): void => {
      client.emitStatus({ type: 'group', groupId, consumerId, event, epoch: member?.epoch, ...detail });
    };

    const coordinatorAddress = async (): Promise<string> => {
      const m = await firstValueFrom(client.refreshMetadata());
      const address = member === undefined ? undefined : m.broker(member.coordinator)?.address;
      if (address === undefined) throw new NotLeaderError(`group ${groupId}: coordinator ${member?.coordinator ?? '?'} is not a known broker`);
      return address;
    };

    const join = async (): Promise<void> => {
      // Members joining a new group at once race to create it: the losers are told it
      // "already exists" and simply join again.
      for (let attempt = 1; ; attempt++) {
        try {
          await joinOnce();
          return;
        } catch (e) {
          if (!(e instanceof LiftbridgeError && /group already exists/i.test(e.message)) || attempt > 10 || signal.aborted) throw e;
          await sleep(50 * attempt, signal);
        }
      }
    };

    const joinOnce = async (): Promise<void> => {
      try {
        const res = await firstValueFrom(
          client.run({
            rpc: 'JoinConsumerGroup',
            route: () => [client.anyBroker()],
            call: (c, opts) => c.unary('joinConsumerGroup', { groupId, consumerId, streams }, opts),
            retryable: transient,
          }),
        );
        member = {
          coordinator: res.coordinator,
          epoch: res.epoch,
          consumerTimeoutMs: Number(res.consumerTimeout / 1_000_000n),
          coordinatorTimeoutMs: Number(res.coordinatorTimeout / 1_000_000n),
        };
      } catch (e) {
        if (e instanceof LiftbridgeError && /already a member/i.test(e.message)) {
          // A retry of our own join that had already succeeded: look the group up instead.
          await refreshGroup();
          member ??= { coordinator: '', epoch: 0n, consumerTimeoutMs: 15_000, coordinatorTimeoutMs: 15_000 };
        } else if (e instanceof LiftbridgeError && e.code === 'CONSUMER_GROUP' && /stream/i.test(e.message)) {
          throw new NoSuchStreamError(e.message, { cause: e, rpc: 'JoinConsumerGroup', address: e.address });
        } else {
          throw e;
        }
      }
      status('joined', { coordinator: member?.coordinator });
    };

    /** Learns the group's current coordinator and epoch from metadata. */
    const refreshGroup = async (): Promise<void> => {
      const res = await firstValueFrom(
        client.run({
          rpc: 'FetchMetadata',
          route: () => [client.anyBroker()],
          call: (c, opts) => c.unary('fetchMetadata', { streams: [], groups: [groupId] }, opts),
          retryable: transient,
          serverDeadline: false,
        }),
      );
      const g = res.groupMetadata.find((x) => x.groupId === groupId);
      if (g !== undefined && g.error === 0 && member !== undefined) {
        if (g.coordinator !== member.coordinator) status('coordinator-changed', { coordinator: g.coordinator, previous: member.coordinator });
        member.coordinator = g.coordinator;
        member.epoch = g.epoch;
      } else if (g !== undefined && g.error === 0) {
        member = { coordinator: g.coordinator, epoch: g.epoch, consumerTimeoutMs: 15_000, coordinatorTimeoutMs: 15_000 };
      }
    };

    const revoke = (key: string): void => {
      const h = held.get(key);
      if (h === undefined) return;
      held.delete(key);
      h.life.revoke();
    };

    const assign = (stream: string, partition: number, epoch: bigint): void => {
      const key = `${stream}\u0000${partition}`;
      const existing = held.get(key);
      if (existing !== undefined && !existing.ended) return;
      if (existing !== undefined) revoke(key);
      const life = assignmentLifecycle(revokeTimeoutMs, (forced) => {
        if (forced) logger.warn('revoked partition fenced before its final commit ended', { groupId, stream, partition, revokeTimeoutMs });
      });
      // Highest offset the store confirmed for this partition (set only after a write succeeded).
      let lastSaved: bigint | undefined;
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
        epoch,
        cursorId,
        get revoked() {
          return life.state === 'fenced';
        },
        description: `group '${groupId}' ${stream}/${partition}`,
        load: (s, p) => client.fetchCursor({ stream: s, partition: p, cursorId }).pipe(map((v) => (v < 0n ? undefined : v))),
        save: (s, p, offset) => {
          if (life.state === 'fenced') {
            logger.info('position write fenced: partition revoked', { groupId, stream: s, partition: p, offset: String(offset) });
            return throwError(
              () => new ConsumerGroupError(`group ${groupId}: position write ${s}/${p} = ${offset} fenced off: the partition was revoked from this member`, false),
            );
          }
          const own = s === stream && p === partition;
          if (own && lastSaved !== undefined && offset <= lastSaved) return of(undefined);
          return client
            .finalWork(client.setCursor({ stream: s, partition: p, cursorId, offset }))
            .pipe(
              tap({
                complete: () => {
                  if (own && (lastSaved === undefined || offset > lastSaved)) lastSaved = offset;
                },
              }),
            );
        },
        messages: defer(() =>
          // Revoked (or superseded: its intake ended by itself, and the next poll issues a new
          // assignment if the partition is still ours): complete at once, never subscribe again,
          // which could take the partition back from its new owner.
          life.handedOver
            ? EMPTY
            : client
                .subscribe(
                  stream,
                  { partition, startAt: { type: 'stored', store: ap, otherwise: startAt }, ...(prefetch === undefined ? {} : { prefetch }) },
                  { groupId, consumerId, epoch: () => member?.epoch ?? epoch, onLedger: (ledger) => life.ledger(ledger) },
                )
                .pipe(takeUntil(life.intakeStopped), (source) =>
                  new Observable<Message>((sub) =>
                    source.subscribe({
                      next: (m) => sub.next(m),
                      error: (e: unknown) => sub.error(e),
                      complete: () => {
                        if (life.state === 'active') {
                          // Ended by itself: reissued on the next poll if still ours. Until then
                          // another member may own it: commit() must not let held messages out.
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
      const h: Held = { life, ended: false };
      held.set(key, h);
      out.next(ap);
    };

    const reconcile = (epoch: bigint, assignments: { stream: string; partitions: number[] }[]): void => {
      const wanted = new Set<string>();
      for (const a of assignments) for (const p of a.partitions) wanted.add(`${a.stream}\u0000${p}`);
      const before = [...held.keys()].sort().join(',');
      for (const key of [...held.keys()]) if (!wanted.has(key)) revoke(key);
      for (const a of assignments) for (const p of a.partitions) assign(a.stream, p, epoch);
      const after = [...held.keys()].sort().join(',');
      if (before !== after) {
        status('rebalanced', {
          epoch,
          assignments: assignments.map((a) => ({ stream: a.stream, partitions: [...a.partitions].sort((x, y) => x - y) })),
        });
      }
    };

    const run = async (): Promise<void> => {
      await join();
      let lastSuccess = Date.now();
      while (!signal.aborted) {
        const m = member as Membership;
        try {
          const address = await coordinatorAddress();
          const res = await firstValueFrom(
            client.run({
              rpc: 'FetchConsumerGroupAssignments',
              route: () => [address],
              call: (c, opts) => c.unary('fetchConsumerGroupAssignments', { groupId, consumerId, epoch: m.epoch }, opts),
              retryable: () => false,
            }),
          );
          lastSuccess = Date.now();
          if (res.epoch !== m.epoch) m.epoch = res.epoch;
          reconcile(res.epoch, res.assignments);
        } catch (e) {
          if (signal.aborted) break;
          const error = e instanceof LiftbridgeError ? e : new ConnectionError(String(e));
          if (/not a member|does not exist/i.test(error.message) || (error.code === 'CONSUMER_GROUP' && error.grpcCode === 'NOT_FOUND')) {
            // Expired (missed heartbeats) or removed: start over.
            status('rejoining', { reason: error.message });
            for (const key of [...held.keys()]) revoke(key);
            await join();
            lastSuccess = Date.now();
            continue;
          }
          logger.warn('group poll failed', { groupId, error: error.message });
          try {
            await refreshGroup();
          } catch (refreshError) {
            logger.warn('group metadata refresh failed', { groupId, error: String(refreshError) });
          }
          if (Date.now() - lastSuccess > m.coordinatorTimeoutMs) {
            // The coordinator seems gone: tell the cluster, which fails it over once more than
            // half the members report it within the coordinator timeout. Report on every failed
            // poll from now on, so that the members' reports fall into one window.
            try {
              await firstValueFrom(
                client.run({
                  rpc: 'ReportConsumerGroupCoordinator',
                  route: () => [client.anyBroker()],
                  call: (c, opts) =>
                    c.unary('reportConsumerGroupCoordinator', { groupId, consumerId, coordinator: m.coordinator, epoch: m.epoch }, opts),
                  retryable: transient,
                }),
              );
              status('coordinator-reported', { coordinator: m.coordinator });
            } catch (reportError) {
              logger.warn('coordinator report failed', { groupId, error: String(reportError) });
            }
          }
        }
        await sleep(pollOverride ?? Math.max(100, Math.floor((member?.consumerTimeoutMs ?? 15_000) * 0.4)), signal);
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
      if (member !== undefined) {
        // Leave so the group rebalances now instead of after the consumer timeout.
        const leave: Subscription = client
          .run({
            rpc: 'LeaveConsumerGroup',
            route: () => [client.anyBroker()],
            call: (c, opts) => c.unary('leaveConsumerGroup', { groupId, consumerId }, opts),
            retryable: transient,
          })
          .subscribe({ error: (e: unknown) => logger.warn('leaving the group failed', { groupId, error: String(e) }) });
        void leave;
        status('left');
      }
    };
  });
}

function transient(e: LiftbridgeError): boolean {
  return e instanceof ConnectionError || e instanceof TimeoutError || e instanceof InternalServerError || e instanceof NotLeaderError;
}

