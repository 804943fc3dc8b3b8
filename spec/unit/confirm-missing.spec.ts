import { NEVER, type Observable, of, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/internal/logger.js';
import { ClusterMetadata, type PartitionInfo, type StreamInfo } from '../../src/metadata/cluster-metadata.js';
import { EMPTY_CLUSTER_RECHECK_MS, judgeMissing, type MissingVerdict } from '../../src/metadata/confirm-missing.js';
import { MetadataService } from '../../src/metadata/metadata-service.js';

function view(source: string, streams: Record<string, number>, at = 0): ClusterMetadata {
  const infos: StreamInfo[] = Object.entries(streams).map(([name, count]) => ({
    name,
    subject: name,
    creationTimestampNs: 0n,
    partitions: Array.from({ length: count }, (_, id) => ({ stream: name, id, leader: 'n1', replicas: ['n1'], isr: ['n1'] }) as unknown as PartitionInfo),
  }));
  const brokers = ['a', 'b', 'c'].map((id) => ({ id, host: id, port: 1, address: id, partitionCount: 0, leaderCount: 0 }));
  return new ClusterMetadata(brokers, infos, new Date(at), source);
}

describe('judgeMissing: is a "not found" answer confirmed by the cluster?', () => {
  it('exists when any answering broker lists it, whatever the others say (they have not caught up)', () => {
    const lagging = view('c', {});
    const caughtUp = view('a', { orders: 2, other: 1 });
    const v = judgeMissing([lagging, caughtUp], 3, 'orders', 1);
    expect(v.kind).toBe('exists');
    expect(v.kind === 'exists' && v.view).toBe(caughtUp);
  });

  it('missing once a majority of the known brokers answered without it (and they list other streams)', () => {
    expect(judgeMissing([view('a', { other: 1 }), view('b', { other: 1 })], 3, 'orders')).toEqual({ kind: 'missing', what: 'stream' });
    expect(judgeMissing([view('a', { other: 1 })], 1, 'orders')).toEqual({ kind: 'missing', what: 'stream' });
  });

  it('a missing partition of an existing stream is reported as such', () => {
    expect(judgeMissing([view('a', { orders: 2 }), view('b', { orders: 2 })], 3, 'orders', 5)).toEqual({ kind: 'missing', what: 'partition' });
  });

  it('unconfirmed when fewer than a majority answered (the others are down or restarting)', () => {
    expect(judgeMissing([view('c', { other: 1 })], 3, 'orders')).toEqual({ kind: 'unconfirmed', empty: false });
    expect(judgeMissing([], 1, 'orders')).toEqual({ kind: 'unconfirmed', empty: false });
  });

  it('unconfirmed (empty) when every answering broker lists no stream at all: all of them may still be catching up', () => {
    expect(judgeMissing([view('a', {}), view('b', {}), view('c', {})], 3, 'orders')).toEqual({ kind: 'unconfirmed', empty: true });
  });
});

describe('MetadataService.confirmMissing', () => {
  function service(answers: Record<string, () => Observable<ClusterMetadata | undefined>>) {
    const scheduler = new VirtualTimeScheduler();
    const lagging: string[] = [];
    let surveys = 0;
    const updates: ClusterMetadata[] = [];
    const svc = new MetadataService(
      () => NEVER,
      0,
      scheduler,
      silentLogger,
      (next) => updates.push(next),
      {
        addresses: () => Object.keys(answers),
        fetchFrom: (a) => {
          surveys++;
          return (answers[a] as () => Observable<ClusterMetadata | undefined>)();
        },
        lagging: (a) => lagging.push(a),
      },
    );
    return { svc, scheduler, lagging, updates, surveys: () => surveys };
  }

  it('adopts the view of a broker that lists the stream and reports the ones that do not as lagging', () => {
    const good = view('a', { orders: 1 });
    const t = service({ a: () => of(good), b: () => of(view('b', {})), c: () => of(undefined) });
    const verdicts: MissingVerdict[] = [];
    t.svc.confirmMissing('orders').subscribe((v) => verdicts.push(v));
    expect(verdicts.map((v) => v.kind)).toEqual(['exists']);
    expect(t.svc.latest()).toBe(good);
    expect(t.updates).toEqual([good]);
    expect(t.lagging).toEqual(['b']);
  });

  it('concurrent questions about one stream share one survey', () => {
    const t = service({ a: () => NEVER, b: () => NEVER });
    const s1 = t.svc.confirmMissing('orders').subscribe();
    const s2 = t.svc.confirmMissing('orders').subscribe();
    expect(t.surveys()).toBe(2); // one FetchMetadata per broker, not per question
    s1.unsubscribe();
    s2.unsubscribe();
  });

  it('every broker empty: asks again after the recheck delay and takes the same answer as confirmation', () => {
    const t = service({ a: () => of(view('a', {})), b: () => of(view('b', {})) });
    const verdicts: MissingVerdict[] = [];
    t.svc.confirmMissing('orders').subscribe((v) => verdicts.push(v));
    expect(verdicts).toEqual([]);
    t.scheduler.flush();
    expect(t.scheduler.now()).toBe(EMPTY_CLUSTER_RECHECK_MS);
    expect(verdicts).toEqual([{ kind: 'missing', what: 'stream' }]);
    expect(t.surveys()).toBe(4);
  });
});
