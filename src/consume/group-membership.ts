/**
 * The epoch rules of a consumer-group member, as small pure pieces the member loop uses.
 *
 * A group's epoch is the Raft index of its last membership or coordinator change: it only
 * grows while the group exists. Brokers that are behind on the log (a follower answering
 * FetchMetadata, a restarted coordinator replaying it) can report an older one. Acting on an
 * older epoch is how two members end up consuming one partition, so a membership never goes
 * back: older group metadata and older assignment answers are ignored.
 *
 * @internal
 */

/** What JoinConsumerGroup answered. */
export interface JoinAnswer {
  readonly coordinator: string;
  readonly epoch: bigint;
  readonly consumerTimeoutMs: number;
  readonly coordinatorTimeoutMs: number;
}

/** One membership: from a successful join until the member leaves, expires or re-joins. */
export interface Membership {
  /** The newest epoch this membership has seen. */
  epoch(): bigint;
  /** The coordinator that goes with {@link epoch} ('' when unknown). */
  coordinator(): string;
  readonly consumerTimeoutMs: number;
  readonly coordinatorTimeoutMs: number;
  /**
   * Group metadata from some broker. Adopted only when its epoch is newer (or, at the same
   * epoch, when the coordinator was unknown); an older epoch comes from a broker behind on the log.
   */
  observe(view: { readonly coordinator: string; readonly epoch: bigint }): 'newer' | 'same' | 'older';
  /** An assignment answer at `epoch`: act on it only if this returns true (not older than the newest seen). */
  accept(epoch: bigint): boolean;
}

/**
 * Starts a membership from a join answer. A re-join starts a new one: its epoch may be lower
 * than the previous membership's when the group was deleted (last member gone) and created again.
 */
export function startMembership(joined: JoinAnswer): Membership {
  let epoch = joined.epoch;
  let coordinator = joined.coordinator;
  return {
    epoch: () => epoch,
    coordinator: () => coordinator,
    consumerTimeoutMs: joined.consumerTimeoutMs,
    coordinatorTimeoutMs: joined.coordinatorTimeoutMs,
    observe(view) {
      if (view.epoch < epoch) return 'older';
      if (view.epoch === epoch) {
        if (coordinator === '') coordinator = view.coordinator;
        return 'same';
      }
      epoch = view.epoch;
      coordinator = view.coordinator;
      return 'newer';
    },
    accept(answer) {
      if (answer < epoch) return false;
      epoch = answer;
      return true;
    },
  };
}

/** What the member holds for a partition, as far as planning is concerned. */
export interface HeldPartition {
  /** Its subscription ended by itself (a newer-epoch subscriber took it over, or the broker ended it). */
  readonly ended: boolean;
}

/** What an accepted assignment means for the partitions held. Keys are `stream\0partition`. */
export interface AssignmentPlan {
  /** Held and no longer assigned: revoke. */
  readonly revoke: string[];
  /** Held, still assigned and still subscribed: keep as they are (only their epoch moves on). */
  readonly keep: string[];
  /** Still assigned but their subscription ended: fence the old one and issue a new one. */
  readonly reissue: string[];
  /** Newly assigned: issue. */
  readonly add: string[];
}

/** Plans the reconciliation of `held` with the partitions an accepted assignment names. */
export function planAssignment(held: ReadonlyMap<string, HeldPartition>, wanted: Iterable<string>): AssignmentPlan {
  const want = new Set(wanted);
  const plan: AssignmentPlan = { revoke: [], keep: [], reissue: [], add: [] };
  for (const [key, h] of held) {
    if (!want.has(key)) plan.revoke.push(key);
    else if (h.ended) plan.reissue.push(key);
    else plan.keep.push(key);
  }
  for (const key of want) if (!held.has(key)) plan.add.push(key);
  return plan;
}

/** Map key of a stream partition. */
export function partitionKey(stream: string, partition: number): string {
  return `${stream}\u0000${partition}`;
}
