/**
 * Maps a broker ack to the public {@link Ack}. Generated and wire types stay in src/publish.
 *
 * @internal
 */
import type { DecodedAck } from './publish-codec.js';
import type { Ack } from './types.js';

/** The public Ack of a message published to `partition`. */
export function toAck(ack: DecodedAck, partition: number, correlationId: string): Ack {
  return {
    stream: ack.stream,
    partition,
    offset: ack.offset,
    partitionSubject: ack.partitionSubject,
    msgSubject: ack.msgSubject,
    correlationId: ack.correlationId === '' ? correlationId : ack.correlationId,
    ackPolicy: ack.ackPolicy === 1 ? 'all' : 'leader',
    receptionTimestampNs: ack.receptionTimestamp,
    commitTimestampNs: ack.commitTimestamp,
  };
}

/** The partition an ack's subjects name: `<base>` is 0, `<base>.<n>` is n. */
export function partitionOfSubjects(partitionSubject: string, msgSubject: string): number {
  if (msgSubject === partitionSubject || !msgSubject.startsWith(`${partitionSubject}.`)) return 0;
  const n = Number(msgSubject.slice(partitionSubject.length + 1));
  return Number.isInteger(n) && n >= 0 ? n : 0;
}
