/**
 * `LiftbridgeClientProxy`: a NestJS `ClientProxy` whose `emit()` publishes to a stream and
 * completes when the broker acked.
 */
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { type AckPolicy, type ClientOptions, connect, InvalidArgumentError, type LiftbridgeClient, type Ack } from '../index.js';
import { isLiftbridgeClient } from './is-client.js';
import { LiftbridgeJsonSerializer, LiftbridgeRecord, requireBytes } from './liftbridge-record.js';

/** Turns the data of `emit(pattern, data)` into the message value. */
export interface LiftbridgeSerializer {
  serialize(value: unknown, options: { pattern: string }): unknown;
}

/** Options of {@link LiftbridgeClientProxy}. */
export interface LiftbridgeClientProxyOptions {
  /**
   * The SDK client: options for a client the proxy creates (on first use) and closes, or a client
   * you own (the proxy never closes it).
   */
  client: ClientOptions | LiftbridgeClient;
  /** Which acknowledgement `emit()` waits for. @defaultValue 'leader' */
  ackPolicy?: AckPolicy;
  /** How long `emit()` waits for the ack, in ms. @defaultValue the SDK's (5000) */
  ackWaitMs?: number;
  /** Turns the emitted data into the value. @defaultValue {@link LiftbridgeJsonSerializer} */
  serializer?: LiftbridgeSerializer;
}

/**
 * A NestJS `ClientProxy` for Liftbridge: `emit(stream, data)` publishes `data` (serialized: JSON
 * by default, bytes and strings as they are) to the stream and completes once the broker acked
 * it (with the {@link Ack} as its value), or errors with the SDK's typed error. Wrap data in a
 * {@link LiftbridgeRecord} for a key, headers or a partition. `send()` (request/response) is not
 * supported: its Observable errors.
 *
 * Register it with `ClientsModule.register([{ name: 'LIFT', customClass: LiftbridgeClientProxy, options: { client: {...} } }])`
 * or create it yourself.
 *
 * @example
 * ```ts
 * const proxy = new LiftbridgeClientProxy({ client: { brokers: ['127.0.0.1:9292'] } });
 * await lastValueFrom(proxy.emit('orders', new LiftbridgeRecord({ id: 1 }, { key: 'customer-7' })));
 * await proxy.close();
 * ```
 */
export class LiftbridgeClientProxy extends ClientProxy {
  readonly #options: LiftbridgeClientProxyOptions;
  readonly #ownsClient: boolean;
  #lift: LiftbridgeClient | undefined;

  /** Validates the options (an {@link InvalidArgumentError} naming the field); connects nothing yet. */
  constructor(options: LiftbridgeClientProxyOptions) {
    super();
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'expected an object');
    for (const k of Object.keys(options)) {
      if (!['client', 'ackPolicy', 'ackWaitMs', 'serializer'].includes(k)) throw new InvalidArgumentError(`options.${k}`, 'unknown option');
    }
    if (typeof options.client !== 'object' || options.client === null)
      throw new InvalidArgumentError('options.client', 'expected client options or a LiftbridgeClient');
    if (options.ackPolicy !== undefined && !['leader', 'all', 'none'].includes(options.ackPolicy)) {
      throw new InvalidArgumentError('options.ackPolicy', "expected 'leader', 'all' or 'none'");
    }
    if (options.serializer !== undefined && typeof options.serializer?.serialize !== 'function') {
      throw new InvalidArgumentError('options.serializer', 'expected an object with a serialize(value) method');
    }
    this.#options = options;
    this.#ownsClient = !isLiftbridgeClient(options.client);
    this.serializer = options.serializer ?? new LiftbridgeJsonSerializer();
  }

  /** Creates the SDK client (no I/O: the client connects on first use). */
  connect(): Promise<LiftbridgeClient> {
    return Promise.resolve(this.#client());
  }

  /** Closes the client if the proxy created it (waits for outstanding acks). */
  async close(): Promise<void> {
    const lift = this.#lift;
    this.#lift = undefined;
    if (this.#ownsClient && lift !== undefined) await lift.close();
  }

  /** The SDK client. */
  unwrap<T>(): T {
    return this.#client() as T;
  }

  protected async dispatchEvent<T = Ack>(packet: ReadPacket): Promise<T> {
    const pattern: unknown = packet.pattern;
    if (typeof pattern !== 'string' || pattern === '') throw new InvalidArgumentError('pattern', 'expected a stream name (a non-empty string)');
    const record = packet.data instanceof LiftbridgeRecord ? (packet.data as LiftbridgeRecord) : new LiftbridgeRecord(packet.data);
    const value = requireBytes('serializer result', await (this.serializer as LiftbridgeSerializer).serialize(record.data, { pattern }));
    const o = record.options;
    const ack = await firstValueFrom(
      this.#client().publish(pattern, value, {
        ...(o.key === undefined ? {} : { key: o.key }),
        ...(o.headers === undefined ? {} : { headers: o.headers }),
        ...(o.partition === undefined ? {} : { partition: o.partition }),
        ...(this.#options.ackPolicy === undefined ? {} : { ackPolicy: this.#options.ackPolicy }),
        ...(this.#options.ackWaitMs === undefined ? {} : { ackWaitMs: this.#options.ackWaitMs }),
      }),
    );
    return ack as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({
      err: new Error(`LiftbridgeClientProxy does not support send() (request/response) for ${String(packet.pattern)}; use emit()`),
      isDisposed: true,
    });
    return () => undefined;
  }

  #client(): LiftbridgeClient {
    if (this.#lift === undefined) {
      const c = this.#options.client;
      this.#lift = isLiftbridgeClient(c) ? c : connect(c);
    }
    return this.#lift;
  }
}
