/**
 * One partition's subscription: a demand-driven bridge from a Subscribe call (the SDK's HTTP/2
 * client by default, or grpc-js: src/transport/subscribe-call.ts) to an Observable, with resume
 * after failures.
 *
 * Demand: the partition reads from its gRPC stream only while fewer than `prefetch`
 * delivered messages are in its {@link OffsetLedger} window (not yet passed by the contiguous
 * settled prefix). At the bound the call is paused; it then stops
 * reading its HTTP/2 stream, flow control fills, and the broker (which has no buffer of its own) stops
 * sending this partition — and only this one. Below `prefetch / 2` it resumes.
 *
 * Resume: when the stream breaks (broker gone, leader moved, connection reset, server
 * restart) the partition looks up its leader again through metadata and resubscribes from
 * the last delivered offset + 1 (or its original start if nothing was delivered yet),
 * within the retry policy; `status$` shows it. Stop positions and readonly ends complete;
 * other failures (deleted stream, paused partition, ...) are typed errors.
 *
 * Internal (not exported from the package root).
 */
import { Observable, type Subscription, throwError, timeout, timer } from 'rxjs';
import { ConnectionError, InternalServerError, LiftbridgeError, PartitionPausedError, TimeoutError } from '../errors/errors.js';
import { isServiceError, mapError } from '../errors/map-error.js';
import { isNotFound } from '../metadata/confirm-missing.js';
import { StartPosition as WireStart, StopPosition as WireStop, type Message as WireMessage, type SubscribeRequest } from '../generated/liftbridge/api.js';
import { retrySchedule, STABLE_AFTER_MS } from '../core/retry-scheduler.js';
import { GrpcJsSubscribeTransport } from '../transport/grpc-js-subscribe-transport.js';
import type { SubscribeCall, SubscribeHandlers } from '../transport/subscribe-call.js';
import { bindLagSource } from './lag-source.js';
import { OffsetLedger } from './offset-ledger.js';
import type { GroupMember, PartitionStreamContext } from './partition-stream-context.js';
import { COMPLETION, resumable } from './subscribe-end.js';
import { ReceivedMessage } from './received-message.js';
import { hasRelativePositions, pinRelativePositions } from './relative-positions.js';
import type { Message } from './types.js';
import { initialStats } from './initial-stats.js';

export type { PartitionSubscriptionStats } from './subscription-stats.js';
export type { GroupMember, PartitionStreamContext } from './partition-stream-context.js';

export function partitionMessages(ctx: PartitionStreamContext, request: SubscribeRequest, prefetch: number, member?: GroupMember): Observable<Message> {
  return new Observable<Message>((subscriber) => {
    const stats = initialStats(request.stream, request.partition, prefetch);
    const unregister = ctx.register(stats);
    const resumeBelow = Math.max(0, Math.floor(prefetch / 2));
    let closed = false;
    let call: SubscribeCall | undefined;
    const openCall =
      ctx.openSubscribe?.bind(ctx) ??
      ((address: string, req: SubscribeRequest, handlers: SubscribeHandlers) =>
        new GrpcJsSubscribeTransport((a) => ctx.acquireStream(a)).open(address, req, handlers));
    let pending: Subscription | undefined;
    // Timers of the open call: no handshake in time; stable long enough to end the outage.
    let callTimer: Subscription | undefined;
    // One outage at a time (the core's retry schedule, src/core/retry-scheduler.ts): its attempts and its budget, which bounds every
    // lookup and call setup inside it. The first setup counts as one.
    const outage = retrySchedule({
      policy: ctx.policy,
      scheduler: ctx.scheduler,
      random: ctx.random,
      logger: ctx.logger,
      report: ({ attempt, delayMs, error }) => ctx.emitStatus({ type: 'reconnecting', rpc: 'Subscribe', attempt, delayMs, error, address: failedAt }),
    });
    /** The broker of the failure being retried (for the status event). */
    let failedAt: string | undefined;
    outage.begin();
    // After a failure the next lookup asks for fresh metadata.
    let refreshNext = false;

    /** Bounds an inner operation (lookup, offset query) by what is left of the outage's budget. */
    const withinOutage = <T>(source: Observable<T>, what: string): Observable<T> => {
      const remaining = outage.remainingMs();
      if (!Number.isFinite(remaining)) return source;
      return source.pipe(
        timeout({
          first: Math.max(1, remaining),
          scheduler: ctx.scheduler,
          with: () =>
            throwError(
              () =>
                new TimeoutError(
                  `Subscribe stream=${request.stream} partition=${request.partition}: could not ${what} within the ${ctx.policy.totalTimeoutMs} ms budget`,
                  { rpc: 'Subscribe' },
                ),
            ),
        }),
      );
    };
    // The request every (re)subscription derives from. StopAt.latest becomes a stop offset
    // before the first call, so that a resubscription keeps the original end.
    let base = request;
    // Set when a call ended at its stop position but may not have delivered everything.
    let checkingTail = false;

    // Settlement lives in the ledger; the stream only follows its window for demand.
    const ledger = new OffsetLedger(request.stream, request.partition, prefetch, request.reverse);
    member?.onLedger?.(ledger);
    if (!request.reverse) bindLagSource(stats, ledger, member?.groupId);
    // Runs `next` once every delivered message is settled (at once if they are).
    let onSettled: (() => void) | undefined;
    const whenSettled = (next: () => void): void => {
      if (ledger.size === 0) next();
      else onSettled = next;
    };
    const unwatch = ledger.watch(() => {
      stats.unsettled = ledger.size;
      if (ledger.size === 0 && onSettled !== undefined) {
        const next = onSettled;
        onSettled = undefined;
        next();
        return;
      }
      if (stats.paused && ledger.size <= resumeBelow && call !== undefined) {
        stats.paused = false;
        call.resume();
      }
    });

    const release = (): void => {
      call = undefined;
      stats.paused = false;
    };

    const fail = (error: LiftbridgeError): void => {
      if (closed) return;
      closed = true;
      subscriber.error(error);
    };

    const retryOrFail = (error: LiftbridgeError, address: string | undefined): void => {
      if (closed) return;
      if (!resumable(error)) {
        fail(error);
        return;
      }
      failedAt = address;
      const next = outage.next(error);
      if (next.kind === 'exhausted') {
        fail(
          error instanceof ConnectionError || error instanceof TimeoutError
            ? new (error instanceof ConnectionError ? ConnectionError : TimeoutError)(
                `Subscribe stream=${request.stream} partition=${request.partition}: could not resubscribe after ${next.retries} retries in ${next.elapsedMs} ms; last error: ${error.message}`,
                { cause: error, rpc: 'Subscribe', address },
              )
            : error,
        );
        return;
      }
      if (address !== undefined && (error instanceof ConnectionError || error instanceof TimeoutError)) ctx.brokerFailed(address);
      refreshNext = true;
      pending = outage.delay(next.delayMs).subscribe(() => start());
    };

    const complete = (): void => {
      if (closed) return;
      closed = true;
      subscriber.complete();
    };

    const start = (): void => {
      if (closed) return;
      let req: SubscribeRequest =
        stats.lastOffset === undefined
          ? base
          : { ...base, startPosition: WireStart.OFFSET, startOffset: base.reverse ? stats.lastOffset - 1n : stats.lastOffset + 1n };
      // A group member subscribes as such: the leader keeps one subscriber per group and
      // partition, and a newer epoch replaces an older one.
      if (member !== undefined) req = { ...req, consumer: { groupId: member.groupId, consumerId: member.consumerId, groupEpoch: member.epoch() } };
      if (request.reverse && stats.lastOffset !== undefined && stats.lastOffset <= 0n) {
        closed = true;
        subscriber.complete();
        return;
      }
      pending = withinOutage(ctx.address(request.stream, request.partition, refreshNext), 'look up the partition leader').subscribe({
        next: (address) => open(address, req),
        error: (e: unknown) => {
          // The lookup confirms "not found" with the cluster: such an error is final here.
          retryOrFail(e instanceof LiftbridgeError ? e : mapError(e, { rpc: 'Subscribe', stream: request.stream, partition: request.partition }), undefined);
        },
      });
    };

    const open = (address: string, req: SubscribeRequest): void => {
      if (closed) return;
      // The call's callbacks, set below (the transport calls them only after open() returned).
      const on: { data?: (w: WireMessage) => void; end?: (finalError: unknown) => void; closed?: () => void } = {};
      let c: SubscribeCall;
      try {
        c = openCall(address, req, {
          onMessage: (w) => on.data?.(w),
          onEnd: (e) => on.end?.(e),
          onClosed: () => on.closed?.(),
        });
      } catch (e) {
        retryOrFail(
          e instanceof LiftbridgeError ? e : mapError(e, { rpc: 'Subscribe', address, stream: request.stream, partition: request.partition }),
          address,
        );
        return;
      }
      call = c;
      // A call opened while earlier messages are still unsettled (a resubscription, a tail
      // re-read) starts paused, or it would overrun the bound.
      if (stats.unsettled >= prefetch) {
        stats.paused = true;
        c.pause();
      }
      stats.callOpen = true;
      const callEnded = ctx.callStarted();
      let handshake = false;
      let deliveredThisCall = 0;
      const tailCheck = checkingTail;
      checkingTail = false;
      const startedUnsettled = stats.unsettled;
      // Never deliver an offset twice or out of order: a broker that just restarted may
      // start a subscription below the requested offset (seen on v1.9.0).
      const floor = req.startPosition === WireStart.OFFSET && !req.reverse ? req.startOffset : -1n;
      on.closed = () => {
        stats.callOpen = false;
        callEnded();
      };
      // A broker that accepts the connection but never answers (frozen, black hole): only a
      // deadline on the handshake tells. Within the outage's budget, at most callTimeoutMs.
      callTimer?.unsubscribe();
      callTimer = timer(Math.max(1, Math.min(ctx.callTimeoutMs, outage.remainingMs())), ctx.scheduler).subscribe(() => {
        if (call !== c || handshake || closed) return;
        release();
        c.cancel();
        retryOrFail(
          new TimeoutError(`Subscribe stream=${request.stream} partition=${request.partition} broker=${address}: no answer within ${ctx.callTimeoutMs} ms`, {
            rpc: 'Subscribe',
            address,
          }),
          address,
        );
      });
      on.data = (w: WireMessage) => {
        if (!handshake) {
          // The first message only says the subscription is set up. The outage ends once the call
          // delivers data or stays up for a while (a call that breaks again at once is the same outage).
          handshake = true;
          refreshNext = false;
          callTimer?.unsubscribe();
          callTimer = outage.active ? timer(STABLE_AFTER_MS, ctx.scheduler).subscribe(() => outage.recovered()) : undefined;
          if (stats.resubscribes > 0) {
            ctx.emitStatus({
              type: 'resubscribed',
              stream: request.stream,
              partition: request.partition,
              address,
              fromOffset: req.startPosition === WireStart.OFFSET ? req.startOffset : undefined,
            });
          }
          return;
        }
        const last = stats.lastOffset;
        if (req.reverse ? last !== undefined && w.offset >= last : w.offset < floor || (last !== undefined && w.offset <= last)) return;
        if (outage.active) {
          outage.recovered();
          callTimer?.unsubscribe();
          callTimer = undefined;
        }
        const entry = ledger.deliver(w.offset);
        stats.unsettled = ledger.size;
        stats.delivered++;
        deliveredThisCall++;
        stats.lastOffset = w.offset;
        if (stats.unsettled > stats.maxUnsettled) stats.maxUnsettled = stats.unsettled;
        const message = new ReceivedMessage(w, ledger, entry);
        if (stats.unsettled >= prefetch && !stats.paused) {
          stats.paused = true;
          c.pause();
        }
        subscriber.next(message);
        if (!message.claimed) message.settle();
      };
      // The outcome comes once every message the call read was delivered.
      on.end = (finalError: unknown) => {
        if (call !== c) return;
        release();
        callTimer?.unsubscribe();
        callTimer = undefined;
        if (closed) return;
        if (finalError === undefined && member !== undefined) {
          // A group member's call ends OK when another subscriber of the group replaced it (or
          // the broker stopped): the group layer decides whether the partition is still ours.
          complete();
          return;
        }
        if (finalError === undefined) {
          // Ended without a status error: the server went away gracefully (or replaced us). Resubscribe.
          stats.resubscribes++;
          retryOrFail(
            new ConnectionError(`Subscribe stream=${request.stream} partition=${request.partition}: the broker ended the stream`, {
              rpc: 'Subscribe',
              address,
            }),
            address,
          );
          return;
        }
        if (isServiceError(finalError) && COMPLETION.test(finalError.details)) {
          // grpc-js drops messages it has received but not yet handed over when a call ends
          // with a non-OK status, and Liftbridge ends stop positions and readonly ends that
          // way. A paused (backpressured) stream can thus lose its tail. So: done when the stop
          // offset was delivered, or when a call that started with nothing unsettled (so it was
          // never held back before its first message) delivered nothing. Otherwise wait until
          // everything delivered is settled and read on from the last delivered offset.
          const last = stats.lastOffset;
          const stopOffsetReached = req.stopPosition === WireStop.STOP_OFFSET && last !== undefined && last >= req.stopOffset;
          const reverseDone = req.reverse && last !== undefined && last <= 0n;
          if (stopOffsetReached || reverseDone || (deliveredThisCall === 0 && startedUnsettled === 0)) {
            complete();
            return;
          }
          checkingTail = true;
          whenSettled(start);
          return;
        }
        const error = mapError(finalError, { rpc: 'Subscribe', address, stream: request.stream, partition: request.partition });
        // A member with a newer epoch holds the partition: it is no longer ours.
        if (member !== undefined && error.code === 'CONSUMER_GROUP' && /not currently assigned/i.test(error.message)) {
          complete();
          return;
        }
        // Reading on after a stop by time: nothing left is "stop before start".
        if (tailCheck && deliveredThisCall === 0 && error.code === 'INVALID_ARGUMENT') {
          complete();
          return;
        }
        if (error instanceof PartitionPausedError) {
          // v1.9.0 reports a closed log the same way whether the partition was paused or is
          // changing leaders. Only a partition that metadata says is paused ends the
          // subscription (with resume: true not even that); otherwise it is transient.
          pending = ctx.partitionPaused(request.stream, request.partition).subscribe({
            next: (paused) => {
              if (paused && !request.resume) fail(error);
              else {
                stats.resubscribes++;
                retryOrFail(
                  new InternalServerError(`${error.message} (transient: the partition is not paused)`, { cause: error, rpc: 'Subscribe', address }),
                  address,
                );
              }
            },
            error: () => fail(error),
          });
          return;
        }
        if (isNotFound(error)) {
          // A broker that has just restarted answers "not found" until it has caught up: final
          // only when the cluster confirms (a deleted stream or partition).
          pending = ctx.confirmNotFound(error, request.stream, request.partition).subscribe({
            error: (e: unknown) => {
              const verdict =
                e instanceof LiftbridgeError ? e : mapError(e, { rpc: 'Subscribe', address, stream: request.stream, partition: request.partition });
              if (resumable(verdict)) stats.resubscribes++;
              retryOrFail(verdict, address);
            },
          });
          return;
        }
        if (resumable(error)) stats.resubscribes++;
        retryOrFail(error, address);
      };
    };

    // Relative positions become offsets before the first call (relative-positions.ts).
    if (hasRelativePositions(request)) {
      pending = withinOutage(ctx.newestOffset(request.stream, request.partition), 'read the newest offset').subscribe({
        next: (newest) => {
          const pinned = pinRelativePositions(request, newest);
          if (pinned === undefined) {
            complete();
            return;
          }
          base = pinned;
          start();
        },
        error: (e: unknown) =>
          fail(e instanceof LiftbridgeError ? e : mapError(e, { rpc: 'FetchPartitionMetadata', stream: request.stream, partition: request.partition })),
      });
    } else {
      start();
    }

    return () => {
      closed = true;
      pending?.unsubscribe();
      callTimer?.unsubscribe();
      const c = call;
      release();
      c?.cancel();
      unwatch();
      unregister();
    };
  });
}
