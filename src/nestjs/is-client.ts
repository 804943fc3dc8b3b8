/**
 * Tells a client from client options without `instanceof`, which fails across the ESM and CJS
 * copies of the package (an ESM app's client handed to the CJS adapter).
 */
import type { LiftbridgeClient } from '../index.js';

/** @internal */
export function isLiftbridgeClient(value: unknown): value is LiftbridgeClient {
  const v = value as { publish?: unknown; group?: unknown; close?: unknown; status$?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.publish === 'function' &&
    typeof v.group === 'function' &&
    typeof v.close === 'function' &&
    v.status$ !== undefined
  );
}
