/**
 * Per-call options and the retry policy they make.
 */
import type { ResolvedClientOptions } from '../client-options.js';
import { rejectUnknownKeys, requireDuration, requireObject } from '../internal/validate.js';

/** Per-call overrides accepted by every operation. */
export interface CallOptions {
  /** Total time budget of this call, retries included, in ms. @defaultValue `retry.totalTimeoutMs` */
  timeoutMs?: number;
}

/**
 * The client's retry policy with the call's budget, or `undefined` (the runner's default).
 * @internal
 */
export function policyFor(base: ResolvedClientOptions['retry'], call: CallOptions | undefined): ResolvedClientOptions['retry'] | undefined {
  if (call?.timeoutMs === undefined) return undefined;
  const o = requireObject('call', call);
  rejectUnknownKeys('call', o, ['timeoutMs']);
  return { ...base, totalTimeoutMs: requireDuration('call.timeoutMs', call.timeoutMs, { allowZero: false }) };
}
