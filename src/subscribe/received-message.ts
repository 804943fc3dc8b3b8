/**
 * The concrete {@link Message} the SDK delivers. It carries a hidden settlement handle into its
 * partition subscription's {@link OffsetLedger}: `consume()` claims a message while it is being
 * delivered and settles it when the handler is done; a message nobody claims (a plain
 * subscriber, or an operator such as `filter` that drops it) is settled as soon as delivery
 * returns. `commit()` reads the ledger's settled prefix; it never holds messages to learn it.
 *
 * Internal (not exported from the package root).
 */
import type { Message as WireMessage } from '../generated/liftbridge/api.js';
import type { LedgerEntry, OffsetLedger } from './offset-ledger.js';
import type { Message, MessageJSON } from './types.js';

const noop = (): void => undefined;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export class ReceivedMessage implements Message {
  readonly stream: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly timestampNs: bigint;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, Uint8Array>>;
  readonly subject: string;
  readonly replySubject: string;
  readonly #ledger: OffsetLedger;
  readonly #entry: LedgerEntry;
  #claimed = false;

  constructor(m: WireMessage, ledger: OffsetLedger, entry: LedgerEntry) {
    this.stream = m.stream;
    this.partition = m.partition;
    this.offset = m.offset;
    this.timestampNs = m.timestamp;
    this.key = m.key;
    this.value = m.value;
    this.headers = m.headers;
    this.subject = m.subject;
    this.replySubject = m.replySubject;
    this.#ledger = ledger;
    this.#entry = entry;
  }

  get timestamp(): Date {
    return new Date(Number(this.timestampNs / 1_000_000n));
  }

  /**
   * The JSON form ({@link MessageJSON}), so that `JSON.stringify(message)` works in logs and HTTP
   * responses (a bigint alone would make it throw): offsets and timestamps as decimal strings,
   * bytes as base64.
   */
  /** How {@link toJSON} writes bytes (the browser build overrides it: no Buffer there). @internal */
  protected get base64(): (bytes: Uint8Array) => string {
    return base64;
  }

  toJSON(): MessageJSON {
    const headers = Object.create(null) as Record<string, string>;
    const encode = this.base64;
    for (const [name, value] of Object.entries(this.headers)) headers[name] = encode(value);
    return {
      stream: this.stream,
      partition: this.partition,
      offset: this.offset.toString(),
      timestampNs: this.timestampNs.toString(),
      timestamp: this.timestamp.toISOString(),
      key: encode(this.key),
      value: encode(this.value),
      headers,
      subject: this.subject,
      replySubject: this.replySubject,
    };
  }

  /** Whether someone took over settling this message during delivery. */
  get claimed(): boolean {
    return this.#claimed;
  }

  /** Settles the message: done with, processed or skipped (idempotent). */
  settle(): void {
    this.#ledger.settle(this.#entry);
  }

  /** Gives up on the message: it is released, but no stored position will ever cover it. */
  abandon(): void {
    this.#ledger.abandon(this.#entry);
  }

  /** The ledger of the partition subscription that delivered `message`, if it came from one. */
  static ledgerOf(message: Message): OffsetLedger | undefined {
    return message instanceof ReceivedMessage ? message.#ledger : undefined;
  }

  /** Marks `message` as taken in by `commit({ emit: 'committed' })` (see {@link OffsetLedger.mark}). */
  static mark(message: Message): void {
    if (message instanceof ReceivedMessage) message.#ledger.mark(message.#entry);
  }

  /** Settles `message` if it came from a subscription. */
  static settle(message: Message): void {
    if (message instanceof ReceivedMessage) message.settle();
  }

  /** Abandons `message` if it came from a subscription. */
  static abandon(message: Message): void {
    if (message instanceof ReceivedMessage) message.abandon();
  }

  /**
   * Passes a claimed message on: `emit` delivers it downstream, where another operator may
   * claim it in turn (then it settles it later); if nobody does, it is settled now.
   */
  static handOff(message: Message, emit: (m: Message) => void): void {
    if (!(message instanceof ReceivedMessage)) {
      emit(message);
      return;
    }
    message.#claimed = false;
    emit(message);
    if (!message.#claimed) message.settle();
  }

  /**
   * Takes over settlement of `message`: the caller must call the returned function once
   * processing is done. For messages not delivered by a subscription, a no-op.
   */
  static claim(message: Message): () => void {
    if (!(message instanceof ReceivedMessage)) return noop;
    message.#claimed = true;
    return () => message.settle();
  }
}
