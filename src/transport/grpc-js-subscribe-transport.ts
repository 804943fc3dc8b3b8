/**
 * Subscribe over a grpc-js stream slot of the connection pool (`transport: 'grpc-js'`), as a
 * {@link SubscribeCall}.
 *
 * Internal (not exported from the package root).
 */
import type { SubscribeRequest, Message as WireMessage } from '../generated/liftbridge/api.js';
import type { StreamLease } from './connection-pool.js';
import type { SubscribeCall, SubscribeHandlers, SubscribeTransport } from './subscribe-call.js';

export class GrpcJsSubscribeTransport implements SubscribeTransport {
  constructor(private readonly acquire: (address: string) => StreamLease) {}

  open(address: string, request: SubscribeRequest, handlers: SubscribeHandlers): SubscribeCall {
    let lease: StreamLease | undefined = this.acquire(address);
    const release = (): void => {
      lease?.release();
      lease = undefined;
    };
    let c: ReturnType<StreamLease['client']['subscribe']>;
    try {
      c = lease.client.subscribe(request);
    } catch (error) {
      release();
      throw error;
    }
    let cancelled = false;
    let finalError: unknown;
    c.on('data', (m: WireMessage) => {
      if (!cancelled) handlers.onMessage(m);
    });
    // grpc-js pushes the end of data, then emits 'error' for a non-OK status while messages may
    // still sit in the stream's buffer: the outcome is reported on 'end', once they are delivered.
    c.on('error', (e: unknown) => {
      finalError = e;
    });
    c.on('end', () => {
      release();
      if (!cancelled) handlers.onEnd(finalError);
    });
    c.on('status', () => {
      release();
      handlers.onClosed();
    });
    return {
      pause: () => c.pause(),
      resume: () => c.resume(),
      cancel: () => {
        if (cancelled) return;
        cancelled = true;
        release();
        c.cancel();
      },
    };
  }
}
