/**
 * The publishing engine behind `publish`, `publishTo` and `publishBulk`: one pipeline per
 * subscription. This file only takes inputs, sends them and settles them; every other
 * responsibility has its own file, named for it (docs/architecture.md lists them): pulling with
 * credit (source-credit.ts, pipeline-budget.ts), each input's state (in-flight-entry.ts), routing
 * (publish-router.ts, broker-health.ts), sending (publish-lanes.ts, ack-deadlines.ts), failures
 * and resends (response-verdict.ts, failure-triage.ts, resend-rounds.ts, resend-timer.ts,
 * publish-failures.ts) and emission in order (ordered-emission.ts). Internal.
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
import type { DecodedResponse } from './publish-codec.js';
import { PublishLanes } from './publish-lanes.js';
import { DONE, Entry, type EntryOwner, SENT } from './in-flight-entry.js';
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
import { PipelineBudget } from './pipeline-budget.js';

export type { PublishSource } from './source-credit.js';

const RPC = 'PublishAsync';

/** Where outcomes go. `failFast` emits values, otherwise results. */
export type PipelineSink = Pick<Subscriber<unknown>, 'next' | 'error' | 'complete' | 'closed'>;

export class PublishPipeline implements EntryOwner {
  private readonly lanes: PublishLanes;
  /** Entries alive on shared lanes (to forget them on teardown). */
  private readonly live = new Set<Entry>();

  private seq = 0;
  private readonly budget: PipelineBudget;

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
    this.budget = new PipelineBudget(config.maxInFlight, config.maxQueuedBytes);
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
          this.budget.unqueue(e);
        },
        forget: (e) => this.lanes.forget(e),
        settleError: (e, error) => this.settleError(e, error),
        giveUp: (e, error) => {
          this.budget.neverSent(e);
          this.settleError(e, error);
        },
        finalError: (e, error, address) => finalError(e, error, address, this.config.resend),
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
        hasCredit: () => this.budget.hasCredit,
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

  // ---------------------------------------------------------------------------------------------
  // Accept, route, send

  private accept(raw: PublishInput): void {
    const e = new Entry(this);
    e.seq = this.seq++;
    e.startedAt = this.now();
    this.budget.taken();
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
    // counts at an upper bound of its framed size (see pipeline-budget.ts).
    this.budget.accepted(e);
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
      this.budget.neverSent(e);
      this.settleError(e, d.error);
    }
  }

  private send(e: Entry, address: string): void {
    const bytes = e.encoded(this.wireAckPolicy);
    const tooLarge = aboveGrpcLimit(e, bytes.length, address);
    if (tooLarge !== undefined) {
      // The broker's gRPC server would end the whole call (and every message on it) for this one.
      this.budget.neverSent(e);
      this.settleError(e, tooLarge);
      return;
    }
    // SENT before the lane sees it: the transport may report on it at once.
    const previous = e.state;
    e.gen++;
    e.state = SENT;
    e.address = address;
    this.budget.queue(e, bytes.length);
    let written: false | 'queued' | 'written';
    let refused: LiftbridgeError | undefined;
    try {
      written = this.lanes.send(address, e, bytes);
      if (written === false) {
        const id = JSON.stringify(e.correlationId);
        refused = new InvalidArgumentError('input.correlationId', `a message with correlation id ${id} is already in flight`);
      }
    } catch (error) {
      written = false;
      refused = mapError(error, { rpc: RPC, address, stream: e.stream, partition: e.partition, correlationId: e.correlationId });
    }
    if (written === false) {
      this.budget.unqueue(e);
      e.state = previous;
      this.budget.neverSent(e);
      this.settleError(e, refused);
      return;
    }
    this.budget.sent(e);
    // A transport that does not report the socket hand-over: the deadline starts now.
    if (written === 'written' && e.state === SENT) {
      this.budget.unqueue(e);
      if (!e.fireAndForget) this.deadlines.start(e, this.acceptClock ?? this.now());
    }
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
    this.budget.unqueue(e);
    if (e.fireAndForget) {
      this.resends.succeeded();
      this.settle(e, true, { type: 'sent', stream: e.stream, partition: e.partition, correlationId: e.correlationId }, undefined);
      return;
    }
    this.deadlines.start(e, this.now());
    if (wasQueued && !this.emission.flushing) this.source.pull();
  }

  onLaneBroken(e: Entry, error: LiftbridgeError, address: string): void {
    if (e.state !== SENT || this.stopped) return;
    this.budget.unqueue(e);
    this.triage.laneBroken(e, error, address);
  }

  // ---------------------------------------------------------------------------------------------
  // Settle and emit

  private settleError(e: Entry, error: unknown): void {
    const err = error instanceof LiftbridgeError ? error : mapError(error, { rpc: RPC, stream: e.stream, correlationId: e.correlationId });
    this.settle(e, false, undefined, withCorrelationId(err, e.correlationId));
  }

  private settle(e: Entry, ok: boolean, value: Ack | Sent | undefined, error: LiftbridgeError | undefined): void {
    if (e.state === DONE || this.stopped) return;
    this.budget.unqueue(e);
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
    if (!this.stopped && !this.emission.flushing) this.source.pull();
  }

  private emit(e: Entry): void {
    if (this.stopped) return;
    this.budget.emitted();
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
      if (this.budget.inFlight > 0) return;
    } else if (this.budget.unsent > 0) {
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
