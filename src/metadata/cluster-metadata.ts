/**
 * The client's view of the cluster, mapped from FetchMetadata / FetchPartitionMetadata.
 * Generated protobuf types never leave this file.
 */
import type { FetchMetadataResponse, PartitionEventTimestamps, PartitionMetadata as WirePartition } from '../generated/liftbridge/api.js';

/** A broker of the cluster. */
export interface BrokerInfo {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** `host:port`, as the client dials it. */
  readonly address: string;
  readonly partitionCount: number;
  readonly leaderCount: number;
}

/** First and latest time an event happened (Unix ns; 0n = never). */
export interface EventTimestamps {
  readonly firstNs: bigint;
  readonly latestNs: bigint;
}

/** One partition of a stream. */
export interface PartitionInfo {
  readonly stream: string;
  readonly id: number;
  /** Broker id of the leader; undefined while there is none. */
  readonly leader: string | undefined;
  readonly replicas: readonly string[];
  readonly isr: readonly string[];
  /**
   * Highest committed offset in the answering broker's log (-1n when empty). Exact only
   * when read from the leader: use `fetchPartitionMetadata`.
   */
  readonly highWatermark: bigint;
  /** Newest offset in the answering broker's log (-1n when empty). Same caveat. */
  readonly newestOffset: bigint;
  readonly paused: boolean;
  readonly readonly: boolean;
  readonly messagesReceived: EventTimestamps;
  readonly pauses: EventTimestamps;
  readonly readonlyChanges: EventTimestamps;
}

/** One stream and its partitions (sorted by id). */
export interface StreamInfo {
  readonly name: string;
  readonly subject: string;
  readonly creationTimestampNs: bigint;
  readonly partitions: readonly PartitionInfo[];
}

/** Immutable cluster view: brokers, streams, partitions, leaders and ISR. */
export class ClusterMetadata {
  private readonly streamIndex: ReadonlyMap<string, StreamInfo>;
  private readonly brokerIndex: ReadonlyMap<string, BrokerInfo>;

  constructor(
    readonly brokers: readonly BrokerInfo[],
    readonly streams: readonly StreamInfo[],
    /** When the view was fetched. */
    readonly fetchedAt: Date,
    /** Address of the broker that answered. */
    readonly source: string,
  ) {
    this.streamIndex = new Map(streams.map((s) => [s.name, s]));
    this.brokerIndex = new Map(brokers.map((b) => [b.id, b]));
  }

  stream(name: string): StreamInfo | undefined {
    return this.streamIndex.get(name);
  }

  partition(stream: string, partition: number): PartitionInfo | undefined {
    return this.streamIndex.get(stream)?.partitions.find((p) => p.id === partition);
  }

  broker(id: string): BrokerInfo | undefined {
    return this.brokerIndex.get(id);
  }

  /** Address of the partition leader, or undefined when the leader or its address is unknown. */
  leaderAddress(stream: string, partition: number): string | undefined {
    const leader = this.partition(stream, partition)?.leader;
    return leader === undefined ? undefined : this.brokerIndex.get(leader)?.address;
  }

  /** Addresses of the partition's in-sync replicas that are known brokers. */
  isrAddresses(stream: string, partition: number): string[] {
    const p = this.partition(stream, partition);
    if (p === undefined) return [];
    return p.isr.map((id) => this.brokerIndex.get(id)?.address).filter((a): a is string => a !== undefined);
  }

  /** A short fingerprint of brokers and leaders, to tell whether routing changed. */
  routingKey(): string {
    const b = this.brokers
      .map((x) => `${x.id}@${x.address}`)
      .sort()
      .join(',');
    const l = this.streams
      .flatMap((s) => s.partitions.map((p) => `${s.name}/${p.id}:${p.leader ?? '-'}:${p.isr.join('+')}`))
      .sort()
      .join(',');
    return `${b}|${l}`;
  }
}

/** Maps a FetchMetadata response. @internal */
export function toClusterMetadata(res: FetchMetadataResponse, source: string, fetchedAt = new Date()): ClusterMetadata {
  const brokers = res.brokers
    .map((b) => ({
      id: b.id,
      host: b.host,
      port: b.port,
      address: formatAddress(b.host, b.port),
      partitionCount: b.partitionCount,
      leaderCount: b.leaderCount,
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
  const streams = res.streamMetadata
    .filter((s) => s.error === 0)
    .map((s) => ({
      name: s.name,
      subject: s.subject,
      creationTimestampNs: s.creationTimestamp,
      partitions: Object.values(s.partitions)
        .map((p) => toPartitionInfo(s.name, p))
        .sort((a, b) => a.id - b.id),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return new ClusterMetadata(brokers, streams, fetchedAt, source);
}

/** Maps one partition's metadata. @internal */
export function toPartitionInfo(stream: string, p: WirePartition): PartitionInfo {
  return {
    stream,
    id: p.id,
    leader: p.leader === '' ? undefined : p.leader,
    replicas: [...p.replicas],
    isr: [...p.isr],
    highWatermark: p.highWatermark,
    newestOffset: p.newestOffset,
    paused: p.paused,
    readonly: p.readonly,
    messagesReceived: timestamps(p.messagesReceivedTimestamps),
    pauses: timestamps(p.pauseTimestamps),
    readonlyChanges: timestamps(p.readonlyTimestamps),
  };
}

function timestamps(t: PartitionEventTimestamps | undefined): EventTimestamps {
  return { firstNs: t?.firstTimestamp ?? 0n, latestNs: t?.latestTimestamp ?? 0n };
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
