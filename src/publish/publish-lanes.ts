/**
 * PublishAsync streams, one per broker address ("lanes"), and the registry of messages waiting for
 * a response, keyed by correlation id. Responses are matched by correlation id whichever lane they
 * arrive on (a resent message is acknowledged by whichever copy answers first); responses for ids
 * no longer waiting are ignored. A response carries only the correlation id, so the copies of a
 * message resent after its deadline cannot be told apart: a {@link CopyLedger} counts the copies
 * still out, and an error answer that would be retried (an internal broker error) while another
 * copy is still out is not acted on (the newer copy's own answer, or its deadline, decides). Final
 * errors and acks are taken whichever copy they answer. A lane that breaks hands every message
 * sent on it back to its owner, which decides whether to resend; a message the transport reported as provably unsent
 * (still queued locally, never connected, refused stream) is handed back with a `neverSent` error.
 *
 * Internal (not exported from the package root).
 */
import { ConnectionError, type LiftbridgeError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import { type DecodedResponse, decodePublishResponse } from './publish-codec.js';
import { CopyLedger } from './copy-ledger.js';
import { isRetriedError } from './response-verdict.js';
import type { PublishCall, PublishTransport } from '../transport/publish-call.js';

/** A message sent (or about to be sent) on a lane and waiting for its response. */
export interface LaneEntry {
  readonly correlationId: string;
  /** The lane of its latest send; set by {@link PublishLanes.send}. */
  lane: Lane | undefined;
  /** `true` when the broker will not answer (ack policy none): settled once written. */
  readonly fireAndForget: boolean;
  onResponse(response: DecodedResponse, address: string): void;
  /**
   * Its bytes were handed to the socket (its ack deadline starts now). Fire-and-forget entries
   * stop waiting first (they are settled by it); others keep waiting for their response.
   */
  onWritten(address: string): void;
  onLaneBroken(error: LiftbridgeError, address: string): void;
}

/** One PublishAsync stream to one broker. */
export class Lane {
  broken = false;
  /** Messages written on this lane. */
  sent = 0;
  /** `sent` at the last idle check. */
  sentAtCheck = 0;
  call!: PublishCall;

  constructor(readonly address: string) {}
}

/** Counters for tests and diagnostics. */
export interface LaneStats {
  /** Lanes opened so far. */
  opened: number;
  /** Lanes that broke (error or unexpected end). */
  broken: number;
  /** Responses whose correlation id was not waiting (late acks of resent messages, ...). */
  ignored: number;
  /** Responses that could not be decoded. */
  malformed: number;
  /** Retriable error answers not acted on because another copy of the message was still out. */
  staleErrors: number;
}

export class PublishLanes {
  private readonly lanes = new Map<string, Lane>();
  private readonly waiting = new Map<string, LaneEntry>();
  /** Waiting entries whose latest copy provably never left the client. */
  private readonly unsent = new Set<LaneEntry>();
  /** Copies of resent messages still out, per lane (answers cannot tell copies apart). */
  private readonly copies = new CopyLedger<LaneEntry, Lane>();
  private closed = false;
  readonly stats: LaneStats = { opened: 0, broken: 0, ignored: 0, malformed: 0, staleErrors: 0 };

  constructor(
    private readonly transport: PublishTransport,
    private readonly logger: Logger,
  ) {}

  /** Messages waiting for a response. */
  get size(): number {
    return this.waiting.size;
  }

  /** Whether a message with this correlation id is waiting. */
  has(correlationId: string): boolean {
    return this.waiting.has(correlationId);
  }

  /** Open lanes. */
  get laneCount(): number {
    return this.lanes.size;
  }

  /**
   * Writes `framed` (a gRPC-framed request) for `entry` on the lane to `address` (opened on first use) and registers the
   * entry under its correlation id. Returns false (and sends nothing) when another message with the
   * same id is waiting; `'queued'` when the transport will call `entry.onWritten` once the bytes
   * reach the socket; `'written'` when they count as handed over now.
   */
  send(address: string, entry: LaneEntry, framed: Buffer): false | 'queued' | 'written' {
    const existing = this.waiting.get(entry.correlationId);
    if (existing !== undefined && existing !== entry) return false;
    if (this.closed) throw new ConnectionError('PublishAsync: the publisher is closed', { rpc: 'PublishAsync', address });
    const lane = this.lanes.get(address) ?? this.open(address);
    // A resend is re-inserted: the registry stays in send order.
    if (existing !== undefined) this.waiting.delete(entry.correlationId);
    this.waiting.set(entry.correlationId, entry);
    entry.lane = lane;
    this.unsent.delete(entry);
    lane.sent++;
    this.copies.sent(entry, lane);
    const state = lane.call.write(framed, (result) => {
      if (result === 'unsent') this.copies.unsent(entry, lane);
      if (entry.lane !== lane || this.waiting.get(entry.correlationId) !== entry) return;
      if (result === 'unsent') {
        this.unsent.add(entry);
        return;
      }
      if (result === 'unknown' || lane.broken) return;
      if (entry.fireAndForget) {
        this.waiting.delete(entry.correlationId);
        this.copies.drop(entry);
      }
      entry.onWritten(address);
    });
    return state === 'queued' ? 'queued' : 'written';
  }

  /** Asks the transport to check that the broker behind `lane` still answers (after ack timeouts). */
  probe(lane: Lane, timeoutMs: number): void {
    if (!lane.broken) lane.call.probe?.(timeoutMs);
  }

  /** Stops waiting for `entry`: it is about to be resent, or its answer came. */
  forget(entry: LaneEntry): void {
    if (this.waiting.get(entry.correlationId) === entry) this.waiting.delete(entry.correlationId);
    this.unsent.delete(entry);
  }

  /**
   * Stops waiting for `entry`, whose ack deadline passed: its copy (written, on a live call) may
   * still answer after a resend, so the copy ledger counts it from now on.
   */
  timedOut(entry: LaneEntry): void {
    const lane = entry.lane;
    if (lane !== undefined && !lane.broken && !this.unsent.has(entry)) this.copies.timedOut(entry, lane);
    this.forget(entry);
  }

  /** `entry` has its outcome: stops waiting for it and forgets its copies. */
  drop(entry: LaneEntry): void {
    this.forget(entry);
    this.copies.drop(entry);
  }

  /**
   * Closes every lane. `graceful`: half-close (the broker still handles what it received);
   * otherwise cancel. Waiting entries are dropped without callbacks: the owner is going away.
   */
  close(graceful: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.waiting.clear();
    this.unsent.clear();
    this.copies.clear();
    for (const lane of this.lanes.values()) this.retire(lane, graceful);
    this.lanes.clear();
  }

  /** Half-closes lanes that nobody waits on and that carried nothing since the previous call. */
  closeIdle(): void {
    const busy = new Set<Lane>();
    for (const e of this.waiting.values()) if (e.lane !== undefined) busy.add(e.lane);
    for (const [address, lane] of this.lanes) {
      if (!busy.has(lane) && lane.sent === lane.sentAtCheck) {
        this.lanes.delete(address);
        this.retire(lane, true);
      }
      lane.sentAtCheck = lane.sent;
    }
  }

  private retire(lane: Lane, graceful: boolean): void {
    if (lane.broken) return;
    lane.broken = true;
    if (graceful) lane.call.end();
    else {
      // Cancelled: nothing more arrives on it. (Half-closed, it still answers until it ends.)
      this.copies.laneGone(lane);
      lane.call.cancel();
    }
  }

  private open(address: string): Lane {
    const lane = new Lane(address);
    lane.call = this.transport.open(address, {
      onMessage: (bytes, start, end) => this.onData(lane, bytes, start, end),
      onError: (error) => this.onBroken(lane, error),
      // The broker ended the call with OK; anything waiting on it is lost.
      onEnd: () => this.onBroken(lane, new ConnectionError(`PublishAsync broker=${address}: the broker ended the stream`, { rpc: 'PublishAsync', address })),
    });
    this.stats.opened++;
    this.lanes.set(address, lane);
    return lane;
  }

  private onData(lane: Lane, bytes: Buffer, start: number, end: number): void {
    let response: DecodedResponse;
    try {
      response = decodePublishResponse(bytes, start, end);
    } catch (error) {
      this.stats.malformed++;
      this.logger.warn('malformed PublishAsync response ignored', { address: lane.address, error });
      return;
    }
    const entry = this.waiting.get(response.correlationId);
    if (entry === undefined) {
      this.stats.ignored++;
      if (response.errorCode !== undefined) {
        // Typically a message sent with ack policy none, whose outcome was already "sent".
        this.logger.warn('PublishAsync error for a message no longer waiting (e.g. sent with ackPolicy none)', {
          address: lane.address,
          correlationId: response.correlationId,
          code: response.errorCode,
          message: response.errorMessage,
        });
      }
      return;
    }
    const othersOut = this.copies.answered(entry, lane);
    if (othersOut > 0 && isRetriedError(response)) {
      // Perhaps an older copy's answer (e.g. its late INTERNAL after it timed out and was resent):
      // acting on it would send a third copy while the newer one waits. If it was the newer copy's,
      // its deadline resends it, as the error would have.
      this.stats.staleErrors++;
      this.logger.debug('PublishAsync error ignored: a newer copy of the message is still out', {
        address: lane.address,
        correlationId: response.correlationId,
        code: response.errorCode,
        message: response.errorMessage,
      });
      return;
    }
    this.waiting.delete(response.correlationId);
    this.copies.drop(entry);
    entry.onResponse(response, lane.address);
  }

  private onBroken(lane: Lane, error: LiftbridgeError): void {
    const wasOpen = !lane.broken;
    if (this.lanes.get(lane.address) === lane) this.lanes.delete(lane.address);
    if (wasOpen) {
      lane.broken = true;
      this.stats.broken++;
    }
    // Copies on a broken lane will not answer.
    this.copies.laneGone(lane);
    if (this.closed) return;
    const affected: LaneEntry[] = [];
    for (const e of this.waiting.values()) if (e.lane === lane) affected.push(e);
    for (const e of affected) this.waiting.delete(e.correlationId);
    for (const e of affected) e.onLaneBroken(this.unsent.delete(e) ? neverSent(error, lane.address) : error, lane.address);
  }
}

/** The lane's error for a message that provably never left the client. */
function neverSent(error: LiftbridgeError, address: string): ConnectionError {
  if (error instanceof ConnectionError && error.neverSent) return error;
  return new ConnectionError(`PublishAsync broker=${address}: the message never left the client (${error.message})`, {
    rpc: 'PublishAsync',
    address,
    cause: error,
    grpcCode: error.grpcCode,
    neverSent: true,
  });
}
