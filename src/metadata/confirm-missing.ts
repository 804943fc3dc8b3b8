/**
 * Whether a "not found" answer is final. A broker that has just restarted answers "no such
 * stream" / "no such partition" for everything until it has caught up with the cluster's
 * metadata (on v1.9.0 it lists every broker and no stream at all for about 4 s). So one
 * broker's "not found" proves nothing; the cluster has to confirm it.
 *
 * The rule ({@link judgeMissing}), applied to the views of every known broker that answers:
 *
 * - some view lists the stream (and the partition, when one is asked about): it **exists**; the
 *   "not found" was transient.
 * - fewer than a majority of the known brokers answered: **unconfirmed** (retry like any
 *   transient failure, within the caller's budget).
 * - a majority answered and none lists it, and at least one of them lists some stream (so it has
 *   caught up with something): **missing**, final.
 * - a majority answered with no stream at all (every one of them may still be catching up, e.g.
 *   after the whole cluster restarted — or the cluster really is empty): **unconfirmed**; the
 *   metadata service asks once more after {@link EMPTY_CLUSTER_RECHECK_MS} and then takes the
 *   same answer again as confirmation.
 *
 * Used by every path that can meet a "not found" answer: routing lookups, unary operations,
 * subscriptions and the publish pipeline (and available to the consumer-group layer through
 * `MetadataService.confirmMissing`).
 *
 * Internal: not exported from the package root.
 */
import { NoSuchPartitionError, NoSuchStreamError, type LiftbridgeError, NotLeaderError } from '../errors/errors.js';
import type { ClusterMetadata } from './cluster-metadata.js';

/** What the cluster says about a stream (or one of its partitions) that some broker did not find. */
export type MissingVerdict =
  /** Some broker lists it: `view` is the newest such view (the caller may route with it). */
  | { readonly kind: 'exists'; readonly view: ClusterMetadata }
  /** Confirmed missing: the stream, or only the partition (the stream exists). */
  | { readonly kind: 'missing'; readonly what: 'stream' | 'partition' }
  /** Not enough caught-up brokers answered to tell. `empty`: a majority answered with no stream at all. */
  | { readonly kind: 'unconfirmed'; readonly empty: boolean };

/** Wait before asking again when every answering broker listed no stream at all. */
export const EMPTY_CLUSTER_RECHECK_MS = 2_000;

/**
 * True for the errors that say a stream or partition does not exist. (Not a type guard: the error
 * classes are structurally alike, so narrowing would also exclude e.g. NotLeaderError.)
 */
export function isNotFound(error: unknown): boolean {
  return error instanceof NoSuchStreamError || error instanceof NoSuchPartitionError;
}

/**
 * Judges the views of the brokers that answered. `knownBrokers` is how many brokers the client
 * knows of (bootstrap list and discovered ones); a majority of them must have answered.
 */
export function judgeMissing(views: readonly ClusterMetadata[], knownBrokers: number, stream: string, partition?: number): MissingVerdict {
  let newest: ClusterMetadata | undefined;
  let streamSeen = false;
  for (const v of views) {
    if (v.stream(stream) === undefined) continue;
    streamSeen = true;
    if (partition !== undefined && v.partition(stream, partition) === undefined) continue;
    if (newest === undefined || v.fetchedAt.getTime() > newest.fetchedAt.getTime()) newest = v;
  }
  if (newest !== undefined) return { kind: 'exists', view: newest };
  const majority = Math.floor(Math.max(1, knownBrokers) / 2) + 1;
  if (views.length < majority) return { kind: 'unconfirmed', empty: false };
  if (views.every((v) => v.streams.length === 0)) return { kind: 'unconfirmed', empty: true };
  return { kind: 'missing', what: streamSeen ? 'partition' : 'stream' };
}

/**
 * The error to retry with when a "not found" answer could not be confirmed: a routing error
 * (retried with a metadata refresh by every caller), carrying the original as its cause.
 */
export function unconfirmedNotFound(error: LiftbridgeError): LiftbridgeError {
  return new NotLeaderError(`${error.message} (not confirmed by the cluster: the broker may not have caught up yet; retrying)`, {
    cause: error,
    rpc: error.rpc,
    address: error.address,
    correlationId: error.correlationId,
  });
}
