/**
 * The instrumentation scopes of a pipeline's inputs (`publish()`, `publishTo()`, `publishBulk()`
 * on an instrumented client): one per accepted input, from acceptance to its outcome, ended
 * exactly once. A pipeline of a client that is not instrumented has none of this (its check is one
 * field). Instrumentation never changes an outcome: headers that would take a message past
 * `maxMessageBytes` are left out (the span is still recorded, its context is not propagated).
 *
 * Internal (not exported from the package root).
 */
import type { ClientInstrumentation, PublishScope } from '../observability/instrumentation-types.js';
import type { Entry } from './in-flight-entry.js';
import { type PreparedMessage, withHeaders } from './publish-message.js';
import type { Ack, Sent } from './types.js';

type LogError = (message: string, fields: Record<string, unknown>) => void;

/** Scopes by entry; hooks that throw are logged and never change the pipeline's state. */
export class InputScopes {
  private readonly open = new Map<Entry, PublishScope>();

  constructor(
    private readonly hooks: ClientInstrumentation,
    private readonly maxMessageBytes: number,
    private readonly logError: LogError,
  ) {}

  /** Asks the hook for `e`'s scope and adds the headers it wants to `e`'s message (the input's own headers win). */
  start(e: Entry): void {
    const msg = e.msg as PreparedMessage;
    let scope: PublishScope | undefined;
    try {
      scope = this.hooks.publishStarted?.({ stream: e.stream, partition: msg.partition, correlationId: e.correlationId, valueBytes: msg.value.length });
    } catch (error) {
      this.logError('instrumentation publishStarted threw', { stream: e.stream, error: String(error) });
    }
    if (scope === undefined) return;
    this.open.set(e, scope);
    const extra = scope.headers;
    if (extra === undefined) return;
    let headers: Array<readonly [string, Uint8Array]> | undefined;
    let added = 0;
    for (const name of Object.keys(extra)) {
      if (msg.headers.some(([n]) => n === name)) continue;
      const raw = extra[name] as string | Uint8Array;
      const v = typeof raw === 'string' ? Buffer.from(raw) : raw;
      headers ??= [];
      headers.push([name, v]);
      added += Buffer.byteLength(name) + v.length;
    }
    if (headers === undefined || msg.size + added > this.maxMessageBytes) return;
    // The size counts toward the pipeline's byte bounds, so it includes what was added.
    e.msg = withHeaders(msg, headers, added);
  }

  /** Ends `e`'s scope, if it has one, once. */
  end(e: Entry, outcome: { readonly ack?: Ack | Sent; readonly error?: unknown }): void {
    const scope = this.open.get(e);
    if (scope === undefined) return;
    this.open.delete(e);
    try {
      scope.end(outcome);
    } catch (error) {
      this.logError('instrumentation publish end threw', { stream: e.stream, correlationId: e.correlationId, error: String(error) });
    }
  }

  /** Ends every open scope with neither ack nor error (the pipeline was torn down). */
  endAll(): void {
    for (const e of [...this.open.keys()]) this.end(e, {});
  }
}
