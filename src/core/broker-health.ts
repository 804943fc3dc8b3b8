/**
 * The client's one model of broker health. A broker that failed anywhere (a unary attempt that
 * could not connect or timed out, a Subscribe call that broke, a PublishAsync call that broke or
 * never connected) is reported to the core (`ClientCore.brokerFailed`), which moves the broker
 * selector off it (admin calls, metadata) and quarantines it here for `QUARANTINE_MS`: publishers
 * skip it meanwhile (a message for a partition it leads goes through another broker, which
 * forwards it through NATS), unless it answers.
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
