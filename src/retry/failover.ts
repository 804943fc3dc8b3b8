/**
 * Failover strategies: the order in which broker addresses are tried, as in kombu
 * (`round-robin` cycles in the given order, `shuffle` cycles through a fresh random
 * permutation on every pass). A custom strategy is any function that turns the list of
 * addresses into an iterable of addresses to try (it may be infinite).
 */
import { InvalidArgumentError } from '../errors/errors.js';

/** A custom failover strategy: given the candidate addresses, yields them in the order to try. */
export type FailoverFunction = (addresses: readonly string[]) => Iterable<string>;

/** How brokers are chosen when one fails. */
export type FailoverStrategy = 'round-robin' | 'shuffle' | FailoverFunction;

/** Cycles through the addresses in order, forever. */
export function* roundRobin(addresses: readonly string[]): Generator<string> {
  if (addresses.length === 0) return;
  for (;;) yield* addresses;
}

/** Cycles through the addresses, each pass in a new random order. */
export function shuffle(random: () => number = Math.random): FailoverFunction {
  return function* shuffled(addresses: readonly string[]): Generator<string> {
    if (addresses.length === 0) return;
    for (;;) {
      const pass = [...addresses];
      for (let i = pass.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [pass[i], pass[j]] = [pass[j] as string, pass[i] as string];
      }
      yield* pass;
    }
  };
}

export function resolveFailover(strategy: unknown, random: () => number = Math.random): FailoverFunction {
  if (strategy === undefined || strategy === 'round-robin') return roundRobin;
  if (strategy === 'shuffle') return shuffle(random);
  if (typeof strategy === 'function') return strategy as FailoverFunction;
  throw new InvalidArgumentError('failover', `expected 'round-robin', 'shuffle' or a function, got ${typeof strategy === 'string' ? JSON.stringify(strategy) : typeof strategy}`);
}

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
