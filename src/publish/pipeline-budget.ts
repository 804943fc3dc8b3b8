/**
 * What one publish pipeline holds, in three counts that decide whether it may take another input
 * and whether it is done:
 *
 * - `inFlight`: inputs taken and not yet emitted (bounded by `maxInFlight`);
 * - `queuedBytes`: bytes of taken inputs still inside the client, from the moment an input is
 *   taken until its latest copy reaches the socket or it settles (bounded by `maxQueuedBytes`);
 * - `unsent`: inputs that never reached a lane (what `wait: false` waits for before completing).
 *
 * Every change goes through a method here, so the three can be read whole. Internal.
 */
import type { Entry } from './in-flight-entry.js';

export class PipelineBudget {
  #inFlight = 0;
  #queuedBytes = 0;
  #unsent = 0;

  constructor(
    private readonly maxInFlight: number,
    private readonly maxQueuedBytes: number,
  ) {}

  /** Whether another input may be taken. */
  get hasCredit(): boolean {
    return this.#inFlight < this.maxInFlight && this.#queuedBytes < this.maxQueuedBytes;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get unsent(): number {
    return this.#unsent;
  }

  /** An input was taken from the source (it counts until its outcome is emitted). */
  taken(): void {
    this.#inFlight++;
  }

  /**
   * `e` passed validation: until it is encoded it counts at an upper bound of its framed size (an
   * estimate below it would let more through), and as not yet sent.
   */
  accepted(e: Entry): void {
    this.queue(e, e.framedSizeBound());
    this.#unsent++;
  }

  /** `e`'s latest copy (`bytes` long) is handed to a lane: it counts at its real size. */
  queue(e: Entry, bytes: number): void {
    this.unqueue(e);
    e.queuedBytes = bytes;
    this.#queuedBytes += bytes;
  }

  /** `e`'s latest copy is no longer queued locally (written, failed or settled). */
  unqueue(e: Entry): void {
    if (e.queuedBytes === 0) return;
    this.#queuedBytes -= e.queuedBytes;
    e.queuedBytes = 0;
  }

  /** `e` reached a lane for the first time. */
  sent(e: Entry): void {
    if (e.sentOnce) return;
    e.sentOnce = true;
    this.#unsent--;
  }

  /** `e` settles without ever having reached a lane. */
  neverSent(e: Entry): void {
    if (!e.sentOnce) this.#unsent--;
  }

  /** `e`'s outcome was emitted. */
  emitted(): void {
    this.#inFlight--;
  }
}
