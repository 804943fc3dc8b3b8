/**
 * Correlation ids for publishes: a random per-process prefix plus a counter (the NUID idea: unique
 * without coordination, and cheap — no random bytes per message).
 *
 * Internal (not exported from the package root).
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomPrefix(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

let prefix = randomPrefix(12);
let counter = 0;

/** A new correlation id, unique within this process and (with high probability) across processes. */
export function nextCorrelationId(): string {
  if (counter >= Number.MAX_SAFE_INTEGER) {
    prefix = randomPrefix(12);
    counter = 0;
  }
  return prefix + (counter++).toString(36);
}
