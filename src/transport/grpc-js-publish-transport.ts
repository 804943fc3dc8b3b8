/**
 * PublishAsync over the client's grpc-js connections (`transport: 'grpc-js'`): each call takes a
 * stream slot on a pooled connection (so it obeys `maxStreamsPerConnection` and shows in
 * `stats()`). grpc-js writes one message per event-loop turn on a call, which caps one call at
 * roughly 30 000 msg/s; the HTTP/2 transport is the default for that reason.
 *
 * Internal (not exported from the package root).
 */
import { mapError } from '../errors/map-error.js';
import type { StreamLease } from './connection-pool.js';
import type { CallHandlers, PublishCall, PublishTransport, WireResult } from './publish-call.js';

/** PublishAsync over the client's grpc-js connections. */
export class GrpcJsPublishTransport implements PublishTransport {
  constructor(private readonly acquire: (address: string) => StreamLease) {}

  open(address: string, handlers: CallHandlers): PublishCall {
    const lease = this.acquire(address);
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        lease.release();
      }
    };
    let call: ReturnType<StreamLease['client']['publishAsyncRaw']>;
    try {
      call = lease.client.publishAsyncRaw();
    } catch (error) {
      release();
      throw mapError(error, { rpc: 'PublishAsync', address });
    }
    let finished = false;
    // Messages the call's write() did not take yet (it returned false): sent on 'drain'.
    let queue: { readonly message: Buffer; readonly onWire: ((result?: WireResult) => void) | undefined }[] = [];
    let blocked = false;
    let ending = false;
    const pump = (): void => {
      while (!blocked && queue.length > 0 && !finished) {
        const item = queue.shift() as (typeof queue)[number];
        const onWire = item.onWire;
        // grpc-js calls back once the message was handed to its HTTP/2 stream's socket write.
        const more =
          onWire === undefined
            ? call.write(item.message)
            : call.write(item.message, (error?: unknown) => {
                if (!finished) onWire(error === undefined || error === null ? 'written' : 'unknown');
              });
        if (!more) blocked = true;
      }
      if (ending && queue.length === 0 && !finished) {
        ending = false;
        // Half-closed: it carries nothing more; its slot is free for another call.
        call.end();
        release();
      }
    };
    /** What the call never took provably never left. */
    const dropQueue = (): void => {
      const q = queue;
      queue = [];
      for (const item of q) item.onWire?.('unsent');
    };
    call.on('drain', () => {
      blocked = false;
      pump();
    });
    call.on('data', (bytes: Buffer) => {
      if (!finished) handlers.onMessage(bytes, 0, bytes.length);
    });
    call.on('error', (error: unknown) => {
      release();
      if (finished) return;
      dropQueue();
      finished = true;
      handlers.onError(mapError(error, { rpc: 'PublishAsync', address }));
    });
    call.on('end', () => {
      release();
      if (finished) return;
      dropQueue();
      finished = true;
      handlers.onEnd();
    });
    return {
      write: (framed, onWire) => {
        if (finished) {
          onWire?.('unsent');
          return 'queued';
        }
        queue.push({ message: framed.subarray(5), onWire });
        pump();
        return onWire === undefined ? undefined : 'queued';
      },
      end: () => {
        ending = true;
        pump();
      },
      cancel: () => {
        finished = true;
        queue = [];
        call.cancel();
        release();
      },
    };
  }
}
