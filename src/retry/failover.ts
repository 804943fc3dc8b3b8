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
  throw new InvalidArgumentError(
    'failover',
    `expected 'round-robin', 'shuffle' or a function, got ${typeof strategy === 'string' ? JSON.stringify(strategy) : typeof strategy}`,
  );
}
