/**
 * Maps a broker ack to the public {@link Ack}. Generated and wire types stay in src/publish.
 *
 * Internal (not exported from the package root).
 */
import type { DecodedAck } from './publish-codec.js';
import type { Ack, AckData, AckJSON } from './types.js';

/** Acks carry `toJSON` on a shared prototype: no per-ack closure, and fields stay plain data. */
class AckRecord implements Ack {
  readonly stream: string;
  readonly partition: number;
  readonly offset: bigint;
  readonly partitionSubject: string;
  readonly msgSubject: string;
  readonly correlationId: string;
  readonly ackPolicy: 'leader' | 'all';
  readonly receptionTimestampNs: bigint;
  readonly commitTimestampNs: bigint;

  constructor(d: AckData) {
    this.stream = d.stream;
    this.partition = d.partition;
    this.offset = d.offset;
    this.partitionSubject = d.partitionSubject;
    this.msgSubject = d.msgSubject;
    this.correlationId = d.correlationId;
    this.ackPolicy = d.ackPolicy;
    this.receptionTimestampNs = d.receptionTimestampNs;
    this.commitTimestampNs = d.commitTimestampNs;
  }

  toJSON(): AckJSON {
    return {
      stream: this.stream,
      partition: this.partition,
      offset: this.offset.toString(),
      partitionSubject: this.partitionSubject,
      msgSubject: this.msgSubject,
      correlationId: this.correlationId,
      ackPolicy: this.ackPolicy,
      receptionTimestampNs: this.receptionTimestampNs.toString(),
      commitTimestampNs: this.commitTimestampNs.toString(),
    };
  }
}

/** An {@link Ack} with these fields (and `toJSON`). */
export function ackOf(data: AckData): Ack {
  return new AckRecord(data);
}

/** The public Ack of a message published to `partition`. */
export function toAck(ack: DecodedAck, partition: number, correlationId: string): Ack {
  return ackOf({
    stream: ack.stream,
    partition,
    offset: ack.offset,
    partitionSubject: ack.partitionSubject,
    msgSubject: ack.msgSubject,
    correlationId: ack.correlationId === '' ? correlationId : ack.correlationId,
    ackPolicy: ack.ackPolicy === 1 ? 'all' : 'leader',
    receptionTimestampNs: ack.receptionTimestamp,
    commitTimestampNs: ack.commitTimestamp,
  });
}

/** The partition an ack's subjects name: `<base>` is 0, `<base>.<n>` is n. */
export function partitionOfSubjects(partitionSubject: string, msgSubject: string): number {
  if (msgSubject === partitionSubject || !msgSubject.startsWith(`${partitionSubject}.`)) return 0;
  const n = Number(msgSubject.slice(partitionSubject.length + 1));
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
