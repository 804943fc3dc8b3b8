/**
 * What a consumer group's brokers answer, read by the member's poll loop
 * (src/consume/consumer-group.ts): which answers mean this member is out of the group.
 *
 * Internal (not exported from the package root).
 */
import { LiftbridgeError } from '../errors/errors.js';

/** A poll answered: this member was expired or removed, or the group is gone. */
export const isExpiry = (error: LiftbridgeError): boolean =>
  /not a member|does not exist/i.test(error.message) || (error.code === 'CONSUMER_GROUP' && error.grpcCode === 'NOT_FOUND');

/**
 * What the metadata leader answers a coordinator report with when this member is no longer in
 * the group: the group was deleted ("No such consumer group": every member expired, e.g. on a
 * new coordinator that no member reached in time), or this member was removed. The leader is
 * the authority on membership, so the member joins again instead of reporting forever.
 */
export const isGoneFromGroup = (error: unknown): error is LiftbridgeError =>
  error instanceof LiftbridgeError && /no such consumer group|not a member/i.test(error.message);

/**
 * The group's current epoch from a coordinator report answered "Coordinator generation
 * mismatch, current coordinator: <id> epoch: <n>, ...". Resending that report cannot succeed.
 * An epoch lower than this member's means the group was deleted and made anew (its epochs
 * start again), so this member is not in it, and its polls never say so: the coordinator
 * checks the epoch before membership, so they only ever answer "epoch differs".
 */
export const mismatchedEpoch = (error: unknown): bigint | undefined => {
  const m = error instanceof LiftbridgeError ? /generation mismatch, current coordinator: \S* epoch: (\d+)/i.exec(error.message) : null;
  return m === null ? undefined : BigInt(m[1]!);
};
