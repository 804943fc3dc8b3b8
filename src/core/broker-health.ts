/**
 * Which brokers a client's publishers avoid for a moment, owned by the core (one per client). A
 * broker whose PublishAsync call broke or could not connect is skipped for `QUARANTINE_MS` (a
 * message for a partition it leads goes through another broker, which forwards it through NATS),
 * unless it answers meanwhile. The pipeline reports such a failure to the core too
 * (`ClientCore.brokerFailed`), which moves the broker selector off it; and the selector reads this
 * same quarantine whenever it moves (broker-selector.ts), so unary calls, metadata lookups and
 * publishers all avoid the same brokers: one model of broker health.
 *
 * Internal: not exported from the package root.
 */

/** How long a failed broker is skipped, in ms. */
export const QUARANTINE_MS = 3_000;

export class BrokerHealth {
  private readonly failedAt = new Map<string, number>();

  /** The call to `address` broke or never connected at `now`. */
  failed(address: string, now: number): void {
    this.failedAt.set(address, now);
  }

  /** A response came from `address`. */
  answered(address: string): void {
    if (this.failedAt.size > 0) this.failedAt.delete(address);
  }

  /** Whether `address` may be used at `now`. */
  ok(address: string, now: number): boolean {
    if (this.failedAt.size === 0) return true;
    const at = this.failedAt.get(address);
    if (at === undefined) return true;
    if (now - at >= QUARANTINE_MS || now < at) {
      this.failedAt.delete(address);
      return true;
    }
    return false;
  }
}
