/**
 * The browser side of the wire boundary: gRPC-web calls through a proxy (grpcwebproxy, Envoy) with
 * `nice-grpc-web` and `fetch`. What gRPC-web can carry decides the shape:
 *
 * - unary calls (metadata, admin, Publish): one `fetch` each, aborted by the call's signal;
 * - the Subscribe server stream: a `fetch` whose body is read only when the caller pulls the next
 *   message ({@link WebWire.serverStream} is an async iterator, so nothing is read ahead);
 * - no client or bidi streaming: PublishAsync does not exist here; publishing uses unary `Publish`
 *   with a bounded number in flight ({@link WebWire.publishSlot}).
 *
 * It imports `nice-grpc-web`'s files one by one: its index also loads the Node HTTP transport
 * (`http`, `https`), which must not reach a browser bundle.
 *
 * Internal (not exported from the package root).
 */
import { createChannel } from 'nice-grpc-web/lib/client/channel.js';
import { createClient } from 'nice-grpc-web/lib/client/ClientFactory.js';
import type { Transport } from 'nice-grpc-web/lib/client/Transport.js';
import { BufferOverflowError, ClientClosedError, ConnectionError, type LiftbridgeError, TimeoutError } from '../errors/errors.js';
import { isAbortError, mapError } from '../errors/map-error.js';
import { APIDefinition, PublishRequest } from '../generated/liftbridge/api.js';
import { decodeWireMessage } from '../transport/wire-message.js';

/**
 * The generated definition with prototype-safe codecs where a message carries headers. Header
 * names are arbitrary strings (`__proto__`, `length`...), and ts-proto builds header maps in `{}`:
 * its `fromPartial` (which nice-grpc-web runs on every request) and its `decode` would turn a header
 * named `__proto__` into the object's prototype, and then throw on a header named like a read-only
 * property of it. So Publish requests are encoded as they are (web-publish.ts builds every field,
 * headers without a prototype), and Subscribe's messages are read by {@link decodeWireMessage}.
 */
const WEB_API = {
  ...APIDefinition,
  methods: {
    ...APIDefinition.methods,
    publish: { ...APIDefinition.methods.publish, requestType: { encode: PublishRequest.encode, decode: PublishRequest.decode } },
    subscribe: { ...APIDefinition.methods.subscribe, responseType: { ...APIDefinition.methods.subscribe.responseType, decode: decodeWireMessage } },
  },
} as const;

/** The typed gRPC-web client of the Liftbridge API. */
export type WebApiClient = ReturnType<typeof createClient<typeof WEB_API>>;

/** Settings of a {@link WebWire}. */
export interface WebWireSettings {
  readonly url: string;
  readonly callTimeoutMs: number;
  readonly maxPublishInFlight: number;
  readonly maxQueuedPublishes: number;
  readonly transport: Transport | undefined;
}

/** Context of a call, for error messages. */
interface WebCallContext {
  readonly rpc: string;
  readonly stream?: string | undefined;
  readonly partition?: number | undefined;
}

/** Turns a failure of a gRPC-web call into a LiftbridgeError (fetch failures are connection errors). */
export function mapWebError(error: unknown, ctx: WebCallContext, url: string): LiftbridgeError {
  if (error instanceof TypeError && /fetch|network|load failed/i.test(error.message)) {
    return new ConnectionError(`${ctx.rpc} via ${url} failed: ${error.message}`, { cause: error, rpc: ctx.rpc, address: url });
  }
  return mapError(error, { ...ctx, address: url });
}

export class WebWire {
  readonly client: WebApiClient;
  private readonly calls = new Set<AbortController>();
  private inFlight = 0;
  private readonly waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private closed = false;

  constructor(readonly settings: WebWireSettings) {
    const channel = createChannel(settings.url, settings.transport);
    this.client = createClient(WEB_API, channel);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Publishes in flight and waiting for a slot, for `stats()`. */
  publishStats(): { readonly inFlight: number; readonly queued: number } {
    return { inFlight: this.inFlight, queued: this.waiting.length };
  }

  /**
   * A call's AbortController, aborted by `close()`. `timeoutMs` (when given) aborts it too and
   * `timedOut()` tells that apart from a cancellation.
   */
  open(timeoutMs?: number): { readonly signal: AbortSignal; timedOut(): boolean; abort(): void; done(): void } {
    if (this.closed) throw new ClientClosedError();
    const ac = new AbortController();
    this.calls.add(ac);
    let expired = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            expired = true;
            ac.abort();
          }, timeoutMs);
    const done = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      this.calls.delete(ac);
    };
    return {
      signal: ac.signal,
      timedOut: () => expired,
      abort: () => {
        done();
        ac.abort();
      },
      done,
    };
  }

  /** One unary call with the client's deadline; errors mapped. */
  async unary<T>(ctx: WebCallContext, call: (client: WebApiClient, signal: AbortSignal) => Promise<T>): Promise<T> {
    const c = this.open(this.settings.callTimeoutMs);
    try {
      return await call(this.client, c.signal);
    } catch (err) {
      if (c.timedOut())
        throw new TimeoutError(`${ctx.rpc} via ${this.settings.url}: no answer within ${this.settings.callTimeoutMs} ms`, {
          rpc: ctx.rpc,
          address: this.settings.url,
        });
      if (this.closed && isAbortError(err)) throw new ClientClosedError(`${ctx.rpc}: the client was closed`, { rpc: ctx.rpc });
      throw mapWebError(err, ctx, this.settings.url);
    } finally {
      c.done();
    }
  }

  /**
   * Waits for one of `maxPublishInFlight` publish slots; fails with BufferOverflowError when
   * `maxQueuedPublishes` publishes already wait. Returns the release.
   */
  async publishSlot(signal: AbortSignal): Promise<() => void> {
    if (this.closed) throw new ClientClosedError();
    if (this.inFlight >= this.settings.maxPublishInFlight) {
      if (this.waiting.length >= this.settings.maxQueuedPublishes) {
        throw new BufferOverflowError(
          `Publish: ${this.settings.maxQueuedPublishes} publishes already wait for one of ${this.settings.maxPublishInFlight} slots (maxQueuedPublishes)`,
          { rpc: 'Publish' },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          resolve: () => {
            signal.removeEventListener('abort', onAbort);
            resolve();
          },
          reject,
        };
        const onAbort = (): void => {
          const i = this.waiting.indexOf(waiter);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.push(waiter);
      });
    } else {
      this.inFlight++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next !== undefined)
        next.resolve(); // the slot passes on
      else this.inFlight--;
    };
  }

  /** Aborts every call (their fetches end) and fails every waiting publish. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ac of [...this.calls]) ac.abort();
    this.calls.clear();
    for (const w of this.waiting.splice(0)) w.reject(new ClientClosedError());
  }
}
