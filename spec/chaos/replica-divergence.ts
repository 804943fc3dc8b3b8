/**
 * Reads the brokers' debug logs of a chaos run for replica divergence: after a leader change, each
 * replica logs where the new leader epoch starts in its own log ("Updated log leader epoch. New:
 * {epoch:E, offset:O}"). Replicas that hold the same messages agree on O; when they do not, the
 * offsets between the lowest and the highest O hold different messages on different replicas, and
 * whichever replica leads later decides which survive. A Liftbridge v1.9.0 chaos run showed this:
 * a follower woken from a freeze reported its healthy leader, the controller moved leadership, and
 * the three replicas started the new epoch at three different offsets; a message acked (ack policy
 * all) at one of them was lost (docs/reliability.md). An acked message lost there is the broker's
 * doing, not the client's, so the chaos suite reports it apart.
 */

const EPOCH_LINE = /New: \{epoch:(\d+), offset:(-?\d+)\}.*stream=([^,\]]+), partition=(\d+)\]/;

/** Per leader epoch of `stream`/`partition`: each broker's start offset for it. */
export function epochStarts(logs: ReadonlyMap<string, string>, stream: string, partition: number): Map<number, Map<string, bigint>> {
  const out = new Map<number, Map<string, bigint>>();
  for (const [node, text] of logs) {
    for (const line of text.split('\n')) {
      if (!line.includes('Updated log leader epoch')) continue;
      const m = EPOCH_LINE.exec(line);
      if (m === null || m[3] !== stream || Number(m[4]) !== partition) continue;
      const epoch = Number(m[1]);
      const starts = out.get(epoch) ?? new Map<string, bigint>();
      starts.set(node, BigInt(m[2]!));
      out.set(epoch, starts);
    }
  }
  return out;
}

/**
 * The evidence that `offset` of `stream`/`partition` diverged between replicas: a leader epoch whose
 * start the brokers logged at different offsets, with `offset` at or above the lowest and below
 * the highest. Undefined when the logs show none.
 */
export function divergenceAt(logs: ReadonlyMap<string, string>, stream: string, partition: number, offset: bigint): string | undefined {
  for (const [epoch, starts] of epochStarts(logs, stream, partition)) {
    const offsets = [...starts.values()];
    const low = offsets.reduce((a, b) => (a < b ? a : b));
    const high = offsets.reduce((a, b) => (a > b ? a : b));
    if (offsets.length > 1 && low <= offset && offset < high) {
      const each = [...starts].map(([node, o]) => `${node} at ${o}`).join(', ');
      return `leader epoch ${epoch} of partition ${partition} starts at different offsets on the replicas (${each})`;
    }
  }
  return undefined;
}
