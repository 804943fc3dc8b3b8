/**
 * A thin typed client over one grpc-js channel, driven by the ts-proto definitions.
 *
 * Why not nice-grpc's client: it implements deadlines by aborting on the client only,
 * without sending `grpc-timeout`, and Liftbridge's server behaves differently when it
 * knows the deadline (a unary Publish waits for the ack only with one; metadata
 * mutations wait for a Raft leader until it). Streams are exposed as grpc-js streams so
 * that the subscribe layer can pause them: a paused stream stops reading from HTTP/2,
 * which is what makes flow control stop the broker.
 *
 * Internal (not exported from the package root).
 */
import { Client, Metadata, type Channel, type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { APIDefinition } from '../generated/liftbridge/api.js';
import { decodeMessage } from './message-decoder.js';

type Methods = typeof APIDefinition.methods;
/** RPC names in the generated definition (camelCase). */
export type MethodName = keyof Methods;
/** Request message type of an RPC. */
export type RequestOf<M extends MethodName> = Parameters<Methods[M]['requestType']['encode']>[0];
/** Response message type of an RPC. */
export type ResponseOf<M extends MethodName> = ReturnType<Methods[M]['responseType']['decode']>;
type UnaryName = {
  [K in MethodName]: Methods[K]['requestStream'] extends false ? (Methods[K]['responseStream'] extends false ? K : never) : never;
}[MethodName];

interface Codec {
  path: string;
  serialize: (value: unknown) => Buffer;
  deserialize: (bytes: Buffer) => unknown;
}

const codecs = new Map<string, Codec>();
function codec(method: MethodName): Codec {
  let c = codecs.get(method);
  if (c === undefined) {
    const def = APIDefinition.methods[method];
    const req = def.requestType as unknown as { encode(m: unknown): { finish(): Uint8Array } };
    const res = def.responseType as unknown as { decode(b: Uint8Array): unknown };
    c = {
      path: `/${APIDefinition.fullName}/${def.name}`,
      serialize: (value) => {
        const bytes = req.encode(value).finish();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      deserialize: (bytes) => res.decode(bytes),
    };
    codecs.set(method, c);
  }
  return c;
}

/** Options of one unary call. */
export interface UnaryCallOptions {
  readonly signal: AbortSignal;
  /** The gRPC deadline (client and server); undefined: none (the caller bounds the call itself). */
  readonly deadline: Date | undefined;
}

/** The broker API over one connection. */
export class BrokerClient {
  private readonly grpc: Client;

  constructor(channel: Channel) {
    // The address and credentials are ignored when a channel is supplied.
    this.grpc = new Client('unused', null as never, { channelOverride: channel });
  }

  /** Calls a unary RPC with a real gRPC deadline; the signal cancels it. */
  unary<M extends UnaryName>(method: M, request: RequestOf<M>, options: UnaryCallOptions): Promise<ResponseOf<M>> {
    const c = codec(method);
    return new Promise<ResponseOf<M>>((resolve, reject) => {
      if (options.signal.aborted) {
        reject(abortError());
        return;
      }
      const onAbort = (): void => call.cancel();
      const call = this.grpc.makeUnaryRequest<unknown, unknown>(
        c.path,
        c.serialize,
        c.deserialize,
        request,
        new Metadata(),
        options.deadline === undefined ? {} : { deadline: options.deadline },
        (error: ServiceError | null, response?: unknown) => {
          options.signal.removeEventListener('abort', onAbort);
          if (error !== null) reject(error);
          else resolve(response as ResponseOf<M>);
        },
      );
      options.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Opens a server stream (Subscribe). The caller owns it and must cancel it. Messages are
   * decoded by the hand-written hot-path decoder (same output as ts-proto's).
   */
  subscribe(request: RequestOf<'subscribe'>): ClientReadableStream<ResponseOf<'subscribe'>> {
    const c = codec('subscribe');
    return this.grpc.makeServerStreamRequest(c.path, c.serialize, decodeMessage, request, new Metadata(), {});
  }

  /**
   * Opens a PublishAsync stream that carries encoded messages both ways (the publish layer has its
   * own codec for this hot path). The caller owns it and must end or cancel it.
   */
  publishAsyncRaw(): ClientDuplexStream<Buffer, Buffer> {
    const c = codec('publishAsync');
    return this.grpc.makeBidiStreamRequest(c.path, identity, identity, new Metadata(), {});
  }

  /** Opens a PublishAsync stream. The caller owns it and must end or cancel it. */
  publishAsync(): ClientDuplexStream<RequestOf<'publishAsync'>, ResponseOf<'publishAsync'>> {
    const c = codec('publishAsync');
    return this.grpc.makeBidiStreamRequest(c.path, c.serialize, c.deserialize as (b: Buffer) => ResponseOf<'publishAsync'>, new Metadata(), {});
  }
}

function identity(bytes: Buffer): Buffer {
  return bytes;
}

function abortError(): Error {
  const e = new Error('The operation was aborted');
  e.name = 'AbortError';
  return e;
}
