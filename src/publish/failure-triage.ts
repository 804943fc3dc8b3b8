/**
 * Failures of messages on the wire, sorted: a lane that broke (which broker failed, whether the
 * message provably never left, whether the call ended because of another message that was too
 * large) and ack deadlines that passed (the broker behind the lane is probed with an HTTP/2 PING:
 * one that accepts and never answers loses its calls, and traffic moves to another broker). What
 * a resend may cure goes to the resend rounds; the rest settles.
 *
 * Internal (not exported from the package root).
 */
import { ConnectionError, type LiftbridgeError, MessageTooLargeError } from '../errors/errors.js';
import type { Entry } from './in-flight-entry.js';
import { ackTimeout, lostToTooLarge } from './publish-failures.js';
import type { Lane } from './publish-lanes.js';

/** What the triage needs of its pipeline. */
export interface TriageOwner {
  settleError(e: Entry, error: LiftbridgeError): void;
  retryLater(e: Entry, error: LiftbridgeError, address: string | undefined, neverSent?: boolean): void;
  /** Stops waiting for `e`, whose ack deadline passed (its copy may still answer after a resend). */
  timedOut(e: Entry): void;
  /** Checks that the broker behind `lane` still answers within `timeoutMs`. */
  probe(lane: Lane, timeoutMs: number): void;
  /** The broker at `address` failed: avoid it for a while, tell the client. */
  brokerFailed(address: string): void;
}

export class FailureTriage {
  private lastBroken: Lane | undefined;

  constructor(
    private readonly owner: TriageOwner,
    private readonly ackWaitMs: number,
    /** How long a probe waits for the broker's answer. */
    private readonly probeMs: number,
  ) {}

  /** The lane `e` was sent on broke with `error`. */
  laneBroken(e: Entry, error: LiftbridgeError, address: string): void {
    if (error instanceof MessageTooLargeError) {
      // The broker ended the call because one message exceeded its gRPC limit: that message
      // fails; for the others on the call it is a lost connection, not their own outcome.
      const lost = lostToTooLarge(e, error, address);
      if (lost === undefined) {
        this.owner.settleError(e, error);
        return;
      }
      e.mayHaveLeft = true;
      this.owner.retryLater(e, lost, address);
      return;
    }
    if (this.lastBroken !== e.lane) {
      this.lastBroken = e.lane;
      this.owner.brokerFailed(address);
    }
    const neverSent = error instanceof ConnectionError && error.neverSent;
    if (!neverSent) e.mayHaveLeft = true;
    this.owner.retryLater(e, error, address, neverSent);
  }

  /** Ack deadlines passed (in send order). */
  expired(expired: readonly Entry[]): void {
    const probed = new Set<Lane>();
    for (const e of expired) {
      if (e.lane !== undefined && !probed.has(e.lane)) {
        probed.add(e.lane);
        this.owner.probe(e.lane, this.probeMs);
      }
    }
    for (const e of expired) {
      e.mayHaveLeft = true;
      this.owner.timedOut(e);
      this.owner.retryLater(e, ackTimeout(e, this.ackWaitMs), e.address);
    }
  }
}
