/**
 * Reading one partition from the web client: the Subscribe server stream through the proxy, with
 * backpressure through the fetch stream's reader.
 */
import { Observable } from 'rxjs';
import { ClientError, Status } from 'nice-grpc-common';
import { ConnectionError } from '../errors/errors.js';
import type { Message as WireMessage } from '../generated/liftbridge/api.js';
import { OffsetLedger } from '../subscribe/offset-ledger.js';
import { ReceivedMessage } from '../subscribe/received-message.js';
import type { toSubscribePlan } from '../subscribe/subscribe.js';
import type { Message } from '../subscribe/types.js';
import type { WebCallHost, WebSubscriptionStats } from './web-types.js';
import { mapWebError } from './web-wire.js';

/** Status texts (RESOURCE_EXHAUSTED) with which the broker ends a subscription normally. */
const COMPLETION = /Stop offset reached|End of readonly partition|Stream is empty/i;

const base64 = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
};

/** A message of a web subscription: the Node SDK's message, whose `toJSON` encodes bytes without Buffer. */
class WebMessage extends ReceivedMessage {
  protected override get base64(): (bytes: Uint8Array) => string {
    return base64;
  }
}

/**
 * One partition of a web subscription: at most `prefetch` delivered messages unsettled; above
 * that the response body is not read until messages settle. Unsubscribing aborts the fetch.
 */
export function webPartitionStream(
  host: WebCallHost,
  stream: string,
  partition: number,
  base: ReturnType<ReturnType<typeof toSubscribePlan>['request']>,
  prefetch: number,
): Observable<Message> {
  return new Observable<Message>((subscriber) => {
    const c = host.wire.open();
    const ledger = new OffsetLedger(stream, partition, prefetch, base.reverse);
    let read = 0;
    let maxUnsettled = 0;
    let paused = false;
    let closed = false;
    let wake: (() => void) | undefined;
    const unwatch = ledger.watch(() => {
      if (ledger.size < prefetch && wake !== undefined) {
        const w = wake;
        wake = undefined;
        w();
      }
    });
    const entry = {
      stats: (): WebSubscriptionStats => ({ stream, partition, prefetch, read, unsettled: ledger.size, maxUnsettled, paused }),
    };
    host.subscriptions.add(entry);
    const request = { ...base, partition };
    const run = async (): Promise<void> => {
      const iterator = host.wire.client.subscribe(request, { signal: c.signal })[Symbol.asyncIterator]();
      try {
        let handshake = false;
        while (!closed) {
          if (ledger.size >= prefetch) {
            // The window is full: read nothing more until the settled prefix moves.
            paused = true;
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            paused = false;
            if (closed) return;
          }
          const r = await iterator.next();
          if (r.done || closed) break;
          const w: WireMessage = r.value;
          if (!handshake) {
            handshake = true;
            host.report({ type: 'connected', url: host.url });
            continue;
          }
          read++;
          const e = ledger.deliver(w.offset);
          if (ledger.size > maxUnsettled) maxUnsettled = ledger.size;
          const message = new WebMessage(w, ledger, e);
          try {
            subscriber.next(message);
          } finally {
            if (!message.claimed) message.settle();
          }
        }
        if (!closed) subscriber.complete();
      } finally {
        await iterator.return?.(undefined);
      }
    };
    run()
      .catch((err: unknown) => {
        if (closed) return;
        if (
          err instanceof ClientError &&
          ((err.code === Status.RESOURCE_EXHAUSTED && COMPLETION.test(err.details)) || (base.reverse && err.code === Status.UNKNOWN && err.details === 'EOF'))
        ) {
          // The broker ends a call at its stop position (or the end of a readonly partition, or
          // after the oldest message of a reverse read) with a status: that is completion.
          subscriber.complete();
          return;
        }
        const e = mapWebError(err, { rpc: 'Subscribe', stream, partition }, host.url);
        if (host.wire.isClosed) {
          subscriber.complete();
          return;
        }
        if (e instanceof ConnectionError) host.report({ type: 'disconnected', url: host.url, error: e });
        subscriber.error(e);
      })
      .finally(() => {
        c.done();
        host.subscriptions.delete(entry);
      });
    return () => {
      closed = true;
      unwatch();
      c.abort();
      const w = wake;
      wake = undefined;
      w?.();
      host.subscriptions.delete(entry);
    };
  });
}
