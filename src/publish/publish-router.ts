/**
 * Where a publish pipeline sends each message: its partition (explicit, or the partitioner with
 * the stream's partition count) and a broker address in the latest metadata view. The partition
 * leader, unless the one model of broker health ({@link BrokerHealth}, shared by the client's
 * publishers) says it just failed; then another live broker, the same one for every message of a
 * partition (so one call keeps their order), which forwards to the leader through NATS.
 *
 * Internal (not exported from the package root).
 */
import { type LiftbridgeError, NoSuchPartitionError, NoSuchStreamError, NotLeaderError } from '../errors/errors.js';
import { crc32 } from '../internal/crc32.js';
import type { ClusterMetadata, StreamInfo } from '../metadata/cluster-metadata.js';
import type { BrokerHealth } from './broker-health.js';
import { choosePartition } from './partitioner.js';
import type { PreparedMessage } from './publish-message.js';
import type { ResolvedPublishOptions } from './publish-options.js';

const RPC = 'PublishAsync';

/**
 * The router's answer: send to `address`; wait for a (fresher) metadata view (`reason`: no view
 * yet, the stream or partition missing from it, or no reachable broker); or the input is invalid
 * (its partitioner threw).
 */
export type RouteDecision =
  | { readonly type: 'send'; readonly address: string }
  | { readonly type: 'await'; readonly error: LiftbridgeError | undefined; readonly reason: 'init' | 'miss' | 'failure' }
  | { readonly type: 'invalid'; readonly error: unknown };

/** What is routed: `partition` is set on the first decision that needs it (-1 before). */
export interface Routable {
  readonly stream: string;
  readonly correlationId: string;
  readonly msg: PreparedMessage | undefined;
  partition: number;
}

/** Leaders of one stream's partitions in one metadata view. */
interface StreamRoute {
  readonly info: StreamInfo;
  readonly leaders: ReadonlyMap<number, string | undefined>;
}

export class PublishRouter {
  private routeFor: ClusterMetadata | undefined;
  private readonly routes = new Map<string, StreamRoute | null>();

  constructor(
    private readonly health: BrokerHealth,
    /** The client's configured brokers: forwarders of last resort. */
    private readonly seedBrokers: readonly string[],
    private readonly partitioner: ResolvedPublishOptions['partitioner'],
  ) {}

  route(e: Routable, m: ClusterMetadata | undefined, now: () => number): RouteDecision {
    if (m === undefined) return { type: 'await', error: undefined, reason: 'init' };
    const r = this.streamRoute(m, e.stream);
    if (r === null) {
      return {
        type: 'await',
        error: new NoSuchStreamError(`${RPC} stream=${e.stream}: no such stream`, { rpc: RPC, correlationId: e.correlationId }),
        reason: 'miss',
      };
    }
    const msg = e.msg as PreparedMessage;
    if (e.partition < 0) {
      if (msg.partition !== undefined) e.partition = msg.partition;
      else if (this.partitioner !== undefined) {
        try {
          e.partition = choosePartition(
            this.partitioner,
            { stream: e.stream, key: msg.key, value: msg.value, partitions: r.info.partitions.length },
            'options.partitioner',
          );
        } catch (error) {
          return { type: 'invalid', error };
        }
      } else e.partition = 0;
    }
    if (!r.leaders.has(e.partition)) {
      return {
        type: 'await',
        error: new NoSuchPartitionError(`${RPC} stream=${e.stream} partition=${e.partition}: no such partition`, { rpc: RPC, correlationId: e.correlationId }),
        reason: 'miss',
      };
    }
    const leader = r.leaders.get(e.partition);
    const at = now();
    const address = leader !== undefined && this.health.ok(leader, at) ? leader : this.forwarder(m, e.stream, e.partition, at);
    if (address === undefined) {
      return {
        type: 'await',
        error: new NotLeaderError(`${RPC} stream=${e.stream} partition=${e.partition}: no known leader and no reachable broker`, {
          rpc: RPC,
          correlationId: e.correlationId,
        }),
        reason: 'failure',
      };
    }
    return { type: 'send', address };
  }

  private streamRoute(m: ClusterMetadata, stream: string): StreamRoute | null {
    if (this.routeFor !== m) {
      this.routeFor = m;
      this.routes.clear();
    }
    let r = this.routes.get(stream);
    if (r === undefined) {
      const info = m.stream(stream);
      if (info === undefined) r = null;
      else {
        const leaders = new Map<number, string | undefined>();
        for (const p of info.partitions) leaders.set(p.id, m.leaderAddress(stream, p.id));
        r = { info, leaders };
      }
      this.routes.set(stream, r);
    }
    return r;
  }

  /**
   * A live broker other than a failed leader, the same one for every message of a partition (the
   * order of one call is kept): it hands the message to the leader through NATS.
   */
  private forwarder(m: ClusterMetadata, stream: string, partition: number, now: number): string | undefined {
    const candidates: string[] = [];
    for (const b of m.brokers) if (this.health.ok(b.address, now)) candidates.push(b.address);
    if (candidates.length === 0) for (const a of this.seedBrokers) if (this.health.ok(a, now)) candidates.push(a);
    if (candidates.length === 0) return undefined;
    return candidates[crc32(Buffer.from(`${stream}:${partition}`)) % candidates.length];
  }
}
