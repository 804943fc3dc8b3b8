/**
 * A prototype-safe decoder of Liftbridge's `Message` protobuf for the places that cannot use the
 * Node-only fast decoder (message-decoder.ts): the NATS envelope and the browser's Subscribe.
 *
 * ts-proto's generated `Message.decode` cannot be used there: it assigns the header map into `{}`,
 * where a header named `__proto__` replaces the object's prototype instead of becoming a header, and
 * a later header whose name is a read-only property of that prototype (a Uint8Array's `length`)
 * throws, losing the whole message. Header names are arbitrary strings on the wire (Go's
 * `map[string][]byte`), so here the headers go into an object without a prototype: every name is
 * an own property and nothing is inherited.
 *
 * Browser-safe: no Node built-ins. Internal (not exported from the package root).
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { type AckPolicy, type Message, Message_HeadersEntry } from '../generated/liftbridge/api.js';

enum Tag {
  Offset = (1 << 3) | 0,
  Key = (2 << 3) | 2,
  Value = (3 << 3) | 2,
  Timestamp = (4 << 3) | 0,
  Stream = (5 << 3) | 2,
  Partition = (6 << 3) | 0,
  Subject = (7 << 3) | 2,
  ReplySubject = (8 << 3) | 2,
  Headers = (9 << 3) | 2,
  AckInbox = (10 << 3) | 2,
  CorrelationId = (11 << 3) | 2,
  AckPolicy = (12 << 3) | 0,
}

/** Decodes one `Message` (the wire bytes, no gRPC frame); headers in an object without a prototype. */
export function decodeWireMessage(bytes: Uint8Array): Message {
  const m: Message = {
    offset: 0n,
    key: new Uint8Array(0),
    value: new Uint8Array(0),
    timestamp: 0n,
    stream: '',
    partition: 0,
    subject: '',
    replySubject: '',
    headers: Object.create(null) as Record<string, Uint8Array>,
    ackInbox: '',
    correlationId: '',
    ackPolicy: 0 as AckPolicy,
  };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    switch (tag) {
      case Tag.Offset:
        m.offset = reader.int64() as bigint;
        break;
      case Tag.Key:
        m.key = reader.bytes();
        break;
      case Tag.Value:
        m.value = reader.bytes();
        break;
      case Tag.Timestamp:
        m.timestamp = reader.int64() as bigint;
        break;
      case Tag.Stream:
        m.stream = reader.string();
        break;
      case Tag.Partition:
        m.partition = reader.int32();
        break;
      case Tag.Subject:
        m.subject = reader.string();
        break;
      case Tag.ReplySubject:
        m.replySubject = reader.string();
        break;
      case Tag.Headers: {
        const entry = Message_HeadersEntry.decode(reader, reader.uint32());
        m.headers[entry.key] = entry.value;
        break;
      }
      case Tag.AckInbox:
        m.ackInbox = reader.string();
        break;
      case Tag.CorrelationId:
        m.correlationId = reader.string();
        break;
      case Tag.AckPolicy:
        m.ackPolicy = reader.int32() as AckPolicy;
        break;
      default:
        reader.skip(tag & 7);
    }
  }
  return m;
}
