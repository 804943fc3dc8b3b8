/**
 * `LiftbridgeContext`: what `@Ctx()` gives a handler of the Liftbridge microservice transport.
 */
import { BaseRpcContext } from '@nestjs/microservices';
import type { Message } from '../index.js';

/**
 * The context of one message delivered to an `@EventPattern(stream)` handler by
 * {@link LiftbridgeServer}: where the message comes from and the raw {@link Message}.
 *
 * @example
 * ```ts
 * @EventPattern('orders')
 * async onOrder(@Payload() order: Order, @Ctx() ctx: LiftbridgeContext) {
 *   console.log(ctx.getStream(), ctx.getPartition(), ctx.getOffset());
 * }
 * ```
 */
export class LiftbridgeContext extends BaseRpcContext<[Message]> {
  constructor(args: [Message]) {
    super(args);
  }
  /** The raw message as the SDK delivered it (bytes of key, value and headers). */
  getMessage(): Message {
    return this.args[0];
  }
  /** The stream the message was read from (the handler's pattern). */
  getStream(): string {
    return this.args[0].stream;
  }
  /** The partition the message was read from. */
  getPartition(): number {
    return this.args[0].partition;
  }
  /** The message's offset in its partition. */
  getOffset(): bigint {
    return this.args[0].offset;
  }
  /** The message's key (empty when it has none). */
  getKey(): Uint8Array {
    return this.args[0].key;
  }
  /** The message's headers (bytes). */
  getHeaders(): Readonly<Record<string, Uint8Array>> {
    return this.args[0].headers;
  }
  /** When the broker stored the message. */
  getTimestamp(): Date {
    return this.args[0].timestamp;
  }
}
