/**
 * The broker a client uses for "any broker" calls (metadata, admin, group joins): sticky, moved
 * along the failover strategy (src/retry/failover.ts) when it fails, passing over brokers in the
 * client's broker-health quarantine (broker-health.ts). One per client, owned by the core.
 *
 * Internal: not exported from the package root.
 */
import { InvalidArgumentError } from '../errors/errors.js';
import type { FailoverFunction } from '../retry/failover.js';

/** Which brokers are in quarantine now (the client's one model of broker health, src/core/broker-health.ts). */
export interface BrokerHealthView {
  ok(address: string, now: number): boolean;
}

/**
 * Keeps the broker currently in use ("sticky", like a kombu connection) and moves to the
 * next one the strategy names when it fails. The candidate list is the bootstrap list
 * plus the brokers metadata discovered. When moving, it passes over brokers the client's
 * broker health has in quarantine (unless every candidate is), so unary routing and
 * publishing avoid the same failed brokers.
 */
export class BrokerSelector {
  private candidates: readonly string[];
  private iterator: Iterator<string> | undefined;
  private currentAddress: string | undefined;

  constructor(
    bootstrap: readonly string[],
    private readonly strategy: FailoverFunction,
    private readonly health?: BrokerHealthView,
    private readonly now: () => number = Date.now,
  ) {
    this.candidates = [...bootstrap];
  }

  /** The addresses the selector chooses from. */
  addresses(): readonly string[] {
    return this.candidates;
  }

  /** Replaces the candidates (bootstrap ∪ discovered). Keeps the current broker if still listed. */
  setCandidates(addresses: readonly string[]): void {
    const unique = [...new Set(addresses)];
    if (unique.length === this.candidates.length && unique.every((a, i) => a === this.candidates[i])) return;
    this.candidates = unique;
    this.iterator = undefined;
    if (this.currentAddress !== undefined && !unique.includes(this.currentAddress)) this.currentAddress = undefined;
  }

  /** The broker to use now. */
  current(): string {
    this.currentAddress ??= this.advance();
    return this.currentAddress;
  }

  /** Records that `address` failed: the next call to {@link current} moves on. Returns the new current. */
  failed(address: string): string {
    if (this.currentAddress === undefined || this.currentAddress === address) this.currentAddress = this.advance(address);
    return this.currentAddress;
  }

  private advance(avoid?: string): string {
    const now = this.health === undefined ? 0 : this.now();
    // The first usable address the strategy names that is in quarantine: taken when all are.
    let quarantined: string | undefined;
    for (let guard = 0; guard < 2; guard++) {
      this.iterator ??= this.strategy(this.candidates)[Symbol.iterator]();
      // Take up to one full pass looking for an address other than the failed one.
      for (let i = 0; i <= this.candidates.length; i++) {
        const next = this.iterator.next();
        if (next.done === true) break;
        if (typeof next.value !== 'string' || next.value.length === 0) {
          throw new InvalidArgumentError('failover', `the failover function yielded ${JSON.stringify(next.value)}, not a broker address`);
        }
        if (next.value !== avoid || this.candidates.length === 1) {
          if (this.health === undefined || this.health.ok(next.value, now)) return next.value;
          quarantined ??= next.value;
        }
      }
      this.iterator = undefined; // exhausted: start the strategy over
      if (quarantined !== undefined) return quarantined;
    }
    const fallback = this.candidates[0];
    if (fallback === undefined) throw new InvalidArgumentError('brokers', 'no broker addresses to connect to');
    return fallback;
  }
}
