/**
 * The publishing engine behind `publish`, `publishTo` and `publishBulk`: one pipeline per
 * subscription. This file takes inputs, sends them and settles them; each other responsibility
 * has its own file:
 *
 * - source-credit.ts: **pull** inputs only while fewer than `maxInFlight` are unsettled and less
 *   than `maxQueuedBytes` is queued (an Observable's surplus waits, bounded by `maxBuffered`);
 * - in-flight-entry.ts: each input's **state** (taken -> on the wire -> acked/failed, RETRY in
 *   between), validated before anything is sent (a bad one gets its own `InvalidArgumentError`);
 * - publish-router.ts: its partition and broker (the leader, or a forwarder when
 *   broker-health.ts says the leader just failed);
 * - publish-lanes.ts: **send** on the PublishAsync call to that broker, matched by correlation id;
 *   ack-deadlines.ts: its ack deadline, from when its bytes reached the socket;
 * - response-verdict.ts: what a response means (`asyncError` before the ack); failure-triage.ts:
 *   broken lanes and passed deadlines (probing a silent broker); resend-rounds.ts
 *   and resend-timer.ts: failures a resend may cure (lost connection, leader change, ack timeout,
 *   internal broker error) wait for a round after a backoff and a metadata refresh, within the
 *   retry policy; publish-failures.ts: the typed final error, with its correlation id;
 * - ordered-emission.ts: **emit** each outcome exactly once, in input order (`ordered`) or as settled.
 *
 * Internal (not exported from the package root).
 */
import type { Subscriber } from 'rxjs';
import { InvalidArgumentError, LiftbridgeError } from '../errors/errors.js';
import { mapError } from '../errors/map-error.js';
import { brokerHealth, type BrokerHealth } from './broker-health.js';
import { PublishRouter } from './publish-router.js';
import { judgeResponse } from './response-verdict.js';
import { aboveGrpcLimit, finalError } from './publish-failures.js';
import { ResendTimer } from './resend-timer.js';
import { ResendRounds } from './resend-rounds.js';
import { FailureTriage } from './failure-triage.js';
import { type DecodedResponse, encodePublishRequest } from './publish-codec.js';
import { PublishLanes } from './publish-lanes.js';
import { DONE, Entry, type EntryOwner, SENT } from './in-flight-entry.js';
import type { PreparedMessage } from './publish-message.js';
import { type ResolvedPublishOptions, WIRE_ACK_POLICY } from './publish-options.js';
import type { PublisherHost } from './publisher-host.js';
import { transportFor } from './publish-transport.js';
import { type PublishSource, SourceCredit } from './source-credit.js';
import { AckDeadlines } from './ack-deadlines.js';
import { OrderedEmission } from './ordered-emission.js';
import { toAck } from './to-ack.js';
import { withCorrelationId } from './with-correlation-id.js';
import type { Ack, PublishInput, PublishResult, Sent } from './types.js';
import type { ClientInstrumentation } from '../observability/instrumentation-types.js';
import { InputScopes } from './input-scopes.js';

export type { PublishSource } from './source-credit.js';

const RPC = 'PublishAsync';

/** Where outcomes go. `failFast` emits values, otherwise results. */
export type PipelineSink = Pick<Subscriber<unknown>, 'next' | 'error' | 'complete' | 'closed'>;

export class PublishPipeline implements EntryOwner {
  private readonly lanes: PublishLanes;
  /** Entries alive on shared lanes (to forget them on teardown). */
  private readonly live = new Set<Entry>();

  private seq = 0;
  private inFlight = 0;
  /** Bytes sent by this pipeline and still queued locally (bounded by `maxQueuedBytes`). */
  private queuedBytes = 0;
  private unsent = 0;

  private stopped = false;
  private failing: Entry | undefined;

  private readonly router: PublishRouter;
  private readonly wireAckPolicy: number;
  private acceptClock: number | undefined;
  private readonly health: BrokerHealth;
  /** Instrumented inputs' scopes, or undefined: the off path is this one check. */
  private scopes: InputScopes | undefined;

  constructor(
    private readonly host: PublisherHost,
    private readonly config: ResolvedPublishOptions,
    private readonly defaultStream: string | undefined,
    private readonly sink: PipelineSink,
    /** Lanes to use (default: its own, on the client's transport); `owned` lanes are closed with the pipeline. */
    lanes?: { readonly lanes: PublishLanes; readonly owned: boolean },
  ) {
    this.lanes = lanes?.lanes ?? new PublishLanes(transportFor(host, config.transport), host.options.logger);
    this.ownsLanes = lanes?.owned ?? true;
    this.wireAckPolicy = WIRE_ACK_POLICY[config.ackPolicy];
    this.health = brokerHealth(host);
    this.resends = new ResendTimer(config.policy, config.resend, {
      scheduler: host.options.scheduler,
      random: host.options.random,
      emitStatus: (status) => this.host.emitStatus(status),
      logError: (message, fields) => this.logError(message, fields),
      onRound: (afterFailure) => this.rounds.round(afterFailure),
    });
    this.deadlines = new AckDeadlines(host.options.scheduler, config.ackWaitMs, (expired) => this.triage.expired(expired));
    this.emission = new OrderedEmission<Entry>(
      (e) => e.state === DONE,
      (e) => this.emit(e),
      () => this.stopped,
    );
    this.rounds = new ResendRounds(
      {
        isStopped: () => this.stopped,
        route: (e, fresh) => this.route(e, fresh),
        release: (e) => {
          this.lanes.forget(e);
          this.unqueue(e);
        },
        forget: (e) => this.lanes.forget(e),
        settleError: (e, error) => this.settleError(e, error),
        giveUp: (e, error) => {
          if (!e.sentOnce) this.unsent--;
          this.settleError(e, error);
        },
        finalError: (e, error, address) => this.finalError(e, error, address),
        check: () => this.checkDone(),
      },
      this.resends,
      () => host.metadataService(),
    );
    this.triage = new FailureTriage(
      {
        settleError: (e, error) => this.settleError(e, error),
        retryLater: (e, error, address, neverSent) => this.rounds.retryLater(e, error, address, neverSent),
        timedOut: (e) => this.lanes.timedOut(e),
        probe: (lane, timeoutMs) => this.lanes.probe(lane, timeoutMs),
        brokerFailed: (address) => {
          this.host.brokerFailed(address);
          this.health.failed(address, this.now());
        },
      },
      config.ackWaitMs,
      Math.min(config.ackWaitMs, host.options.transport?.keepAliveTimeoutMs ?? config.ackWaitMs),
    );
    this.router = new PublishRouter(this.health, host.options.brokers, config.partitioner);
    this.source = new SourceCredit(
      {
        isStopped: () => this.stopped,
        isFailing: () => this.failing !== undefined,
        hasCredit: () => this.inFlight < this.config.maxInFlight && this.hasRoom(),
        take: (input) => this.accept(input),
        overflow: (error) => this.fail(error),
        check: () => this.checkDone(),
        logError: (message, fields) => this.logError(message, fields),
      },
      config,
    );
  }

  private readonly source: SourceCredit;
  private readonly resends: ResendTimer;
  private readonly deadlines: AckDeadlines;
  private readonly rounds: ResendRounds;
  private readonly triage: FailureTriage;
  private readonly emission: OrderedEmission<Entry>;

  private readonly ownsLanes: boolean;

  /** Diagnostics of the lanes this pipeline uses. */
  get laneStats(): PublishLanes['stats'] {
    return this.lanes.stats;
  }

  // ---------------------------------------------------------------------------------------------
  // Source

  start(source: PublishSource): void {
    this.source.start(source);
  }

  /**
   * Reports every accepted input to the client's `publishStarted` hook (input-scopes.ts): the
   * scope's headers are added to the message, its outcome ends the scope. Call before start().
   */
  instrument(hooks: ClientInstrumentation): void {
    if (hooks.publishStarted === undefined) return;
    this.scopes = new InputScopes(hooks, this.config.maxMessageBytes, (message, fields) => this.logError(message, fields));
  }

  /** Teardown on unsubscribe: cancels lanes and timers, stops the source. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cleanup(false);
  }

  /** Takes inputs while there is credit (see source-credit.ts). */
  private pull(): void {
    this.source.pull();
  }

  // ---------------------------------------------------------------------------------------------
  // Accept, route, send

  private accept(raw: PublishInput): void {
    const e = new Entry(this);
    e.seq = this.seq++;
    e.startedAt = this.now();
    this.inFlight++;
    if (this.config.ordered) this.emission.add(e);
    if (!this.ownsLanes) this.live.add(e);
    const invalid = e.prepare(raw, this.config.maxMessageBytes, this.defaultStream);
    if (invalid !== undefined) {
      this.settleError(e, invalid);
      return;
    }
    this.scopes?.start(e);
    e.fireAndForget = this.config.ackPolicy === 'none';
    // A new input counts against maxQueuedBytes from the moment it is taken until its first copy
    // reaches the socket (or it settles), whether it waits to be routed (metadata, a pending retry
    // round) or is queued in the transport: otherwise inputs taken while a retry round or a
    // metadata refresh is pending would all be queued at once when it runs. Until it is encoded it
    // counts at an upper bound of its framed size (an estimate below it would let more through).
    e.queuedBytes = e.framedSizeBound();
    this.queuedBytes += e.queuedBytes;
    this.unsent++;
    if (this.resends.pending) {
      // A retry round is due: join it, so that messages go out in input order.
      this.rounds.join(e);
      return;
    }
    // A send within this call reuses this clock reading.
    this.acceptClock = e.startedAt;
    try {
      this.route(e);
    } finally {
      this.acceptClock = undefined;
    }
  }

  /**
   * Sends `e` to where the router says (see publish-router.ts). Without `fresh` (the latest view
   * is all it has), what it cannot route waits for a metadata refresh without counting as a
   * failure; with `fresh`, a missing stream/partition or no broker at all counts (see defer()).
   */
  private route(e: Entry, fresh = false): void {
    const d = this.router.route(e, this.host.metadataService().latest(), () => this.acceptClock ?? this.now());
    if (d.type === 'send') this.send(e, d.address);
    else if (d.type === 'await') this.rounds.awaitMetadata(e, fresh, d.error, d.reason);
    else {
      this.unsent--;
      this.settleError(e, d.error);
    }
  }

  private send(e: Entry, address: string): void {
    const msg = e.msg as PreparedMessage;
    e.bytes ??= encodePublishRequest({
      key: msg.key,
      value: msg.value,
      stream: e.stream,
      partition: e.partition,
      headers: msg.headers,
      correlationId: e.correlationId,
      ackPolicy: this.wireAckPolicy,
      expectedOffset: msg.expectedOffset,
    });
    const tooLarge = aboveGrpcLimit(e, e.bytes.length, address);
    if (tooLarge !== undefined) {
      // The broker's gRPC server would end the whole call (and every message on it) for this one.
      if (!e.sentOnce) this.unsent--;
      this.settleError(e, tooLarge);
      return;
    }
    // SENT before the lane sees it: the transport may report on it at once.
    const previous = e.state;
    e.gen++;
    e.state = SENT;
    e.address = address;
    this.unqueue(e);
    e.queuedBytes = e.bytes.length;
    this.queuedBytes += e.queuedBytes;
    let written: false | 'queued' | 'written';
    try {
      written = this.lanes.send(address, e, e.bytes);
    } catch (error) {
      this.unqueue(e);
      e.state = previous;
      if (!e.sentOnce) this.unsent--;
      this.settleError(e, mapError(error, { rpc: RPC, address, stream: e.stream, partition: e.partition, correlationId: e.correlationId }));
      return;
    }
    if (written === false) {
      this.unqueue(e);
      e.state = previous;
      if (!e.sentOnce) this.unsent--;
      this.settleError(
        e,
        new InvalidArgumentError('input.correlationId', `a message with correlation id ${JSON.stringify(e.correlationId)} is already in flight`),
      );
      return;
    }
    if (!e.sentOnce) {
      e.sentOnce = true;
      this.unsent--;
    }
    // A transport that does not report the socket hand-over: the deadline starts now.
    if (written === 'written' && e.state === SENT) {
      this.unqueue(e);
      if (!e.fireAndForget) this.deadlines.start(e, this.acceptClock ?? this.now());
    }
  }

  /** `e`'s latest copy is no longer queued locally (written, failed or settled). */
  private unqueue(e: Entry): void {
    if (e.queuedBytes === 0) return;
    this.queuedBytes -= e.queuedBytes;
    e.queuedBytes = 0;
  }

  /** Whether another input may be taken: what is queued locally stays under `maxQueuedBytes`. */
  private hasRoom(): boolean {
    return this.queuedBytes < this.config.maxQueuedBytes;
  }

  // ---------------------------------------------------------------------------------------------
  // Responses and failures

  onResponse(e: Entry, response: DecodedResponse, address: string): void {
    if (e.state !== SENT || this.stopped) return;
    const v = judgeResponse(e, response, address);
    if (v.type === 'retry') {
      e.mayHaveLeft = true;
      this.rounds.retryLater(e, v.error, address);
    } else if (v.type === 'confirm-missing') this.rounds.confirmNotFound(e, v.error, address);
    else if (v.type === 'fail') this.settleError(e, v.error);
    else {
      this.resends.succeeded();
      this.health.answered(address);
      this.settle(e, true, toAck(v.ack, e.partition, e.correlationId), undefined);
    }
  }

  onWritten(e: Entry, _address: string): void {
    if (e.state !== SENT || this.stopped) return;
    const wasQueued = e.queuedBytes > 0;
    this.unqueue(e);
    if (e.fireAndForget) {
      this.resends.succeeded();
      this.settle(e, true, { type: 'sent', stream: e.stream, partition: e.partition, correlationId: e.correlationId }, undefined);
      return;
    }
    this.deadlines.start(e, this.now());
    if (wasQueued && !this.emission.flushing) this.pull();
  }

  onLaneBroken(e: Entry, error: LiftbridgeError, address: string): void {
    if (e.state !== SENT || this.stopped) return;
    this.unqueue(e);
    this.triage.laneBroken(e, error, address);
  }

  private finalError(e: Entry, error: LiftbridgeError, address: string | undefined): LiftbridgeError {
    return finalError(e, error, address, this.config.resend);
  }

  // ---------------------------------------------------------------------------------------------
  // Settle and emit

  private settleError(e: Entry, error: unknown): void {
    const err = error instanceof LiftbridgeError ? error : mapError(error, { rpc: RPC, stream: e.stream, correlationId: e.correlationId });
    this.settle(e, false, undefined, withCorrelationId(err, e.correlationId));
  }

  private settle(e: Entry, ok: boolean, value: Ack | Sent | undefined, error: LiftbridgeError | undefined): void {
    if (e.state === DONE || this.stopped) return;
    this.unqueue(e);
    const wasSent = e.state === SENT;
    e.state = DONE;
    e.ok = ok;
    e.value = value;
    e.error = error;
    e.bytes = undefined;
    this.scopes?.end(e, ok ? { ack: value } : { error });
    // Also when it was waiting for a resend: copies of it may still be counted.
    this.lanes.drop(e);
    if (wasSent) this.deadlines.trim();
    if (!this.ownsLanes) this.live.delete(e);
    if (!ok && this.config.failFast && this.failing === undefined) {
      // Stop taking inputs; in order mode the error is emitted after the outcomes before it.
      this.failing = e;
    }
    if (this.config.ordered) this.emission.flush();
    else this.emit(e);
    if (!this.stopped && !this.emission.flushing) {
      this.pull();
    }
  }

  private emit(e: Entry): void {
    if (this.stopped) return;
    this.inFlight--;
    if (e.ok) {
      this.sink.next(this.config.failFast ? e.value : ({ ok: true, ack: e.value as Ack | Sent, input: e.input } satisfies PublishResult<Ack | Sent>));
      return;
    }
    if (this.config.failFast) {
      this.fail(e.error as LiftbridgeError);
      return;
    }
    this.sink.next({ ok: false, error: e.error as LiftbridgeError, input: e.input } satisfies PublishResult);
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cleanup(false);
    this.sink.error(error);
  }

  private checkDone(): void {
    if (this.stopped || this.source.pulling) return;
    // failFast: a known failure ends the pipeline, never a completion (even with `wait: false`).
    // It is emitted once the outcomes before it are (ordered mode); each of those has a deadline.
    if (this.failing !== undefined) return;
    const end = this.source.end;
    if (end === undefined || this.source.hasBuffered) return;
    if (this.config.wait || end.type === 'error') {
      if (this.inFlight > 0) return;
    } else if (this.unsent > 0) {
      return;
    }
    this.stopped = true;
    this.cleanup(true);
    if (end.type === 'error') this.sink.error(end.error);
    else this.sink.complete();
  }

  private cleanup(graceful: boolean): void {
    this.scopes?.endAll();
    this.source.close();
    this.deadlines.stop();
    this.resends.stop();
    this.rounds.stop();
    if (this.ownsLanes) this.lanes.close(graceful);
    else {
      for (const e of this.live) this.lanes.drop(e);
      this.live.clear();
    }
  }

  /** Logs through the application's logger, which must not break the pipeline either. */
  private logError(message: string, fields: Record<string, unknown>): void {
    try {
      this.host.options.logger.error(message, fields);
    } catch {
      // nowhere left to report it
    }
  }

  private now(): number {
    return this.host.options.scheduler.now();
  }
}
