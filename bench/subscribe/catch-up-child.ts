/**
 * One measured catch-up read with rx-liftbridge, in its own process so that CPU and RSS are
 * the client's alone. Started by catch-up.ts:
 *
 *   node --import tsx bench/subscribe/catch-up-child.ts <broker> <stream> <partitions> <messages> [prefetch]
 *
 * Reads every partition from the earliest offset to the newest at subscribe time
 * (`partitions: 'all'`, `StartAt.earliest()`, `StopAt.latest()`) with a plain subscriber
 * (settles on delivery), checks that each partition delivered offsets 0..n-1 exactly once,
 * and prints one JSON line: msgs, seconds, msgPerSec, cpuUsPerMsg (process.cpuUsage over the
 * read), peak RSS (sampled every 100 ms, and the kernel's maxRSS).
 *
 * Experiments only (see BENCH_VARIANTS in catch-up.ts): BENCH_FLOW_WINDOW=<bytes> sets grpc-js's
 * `grpc-node.flow_control_window` through `channelOptions`; BENCH_PROTO_DECODER=1 swaps in the
 * prototype decoder of prototype/fast-message-decoder.ts; BENCH_TRANSPORT=http2 reads through
 * the raw-HTTP/2 prototype (prototype/raw-http2-subscribe.ts) instead of the SDK's grpc-js
 * bridge, with the same per-message objects (ReceivedMessage) and an Observable per partition
 * merged like the SDK's, to measure the transport floor.
 */
import { Observable, firstValueFrom, merge } from 'rxjs';
import { Message as WireCodec, StartPosition as WireStart, StopPosition as WireStop } from '../../src/generated/liftbridge/api.js';
import { type LiftbridgeClient, type Message, StartAt, StopAt, connect } from '../../src/index.js';
import { OffsetLedger } from '../../src/subscribe/offset-ledger.js';
import { ReceivedMessage } from '../../src/subscribe/received-message.js';
import { installFastMessageDecoder } from './prototype/fast-message-decoder.js';
import { openSession, rawSubscribe } from './prototype/raw-http2-subscribe.js';

const [address, stream, partitionsArg, messagesArg, prefetchArg] = process.argv.slice(2);
if (address === undefined || stream === undefined || partitionsArg === undefined || messagesArg === undefined) {
  console.error('usage: catch-up-child.ts <broker> <stream> <partitions> <messages> [prefetch]');
  process.exit(2);
}
const partitions = Number(partitionsArg);
const messages = Number(messagesArg);
const prefetch = prefetchArg === undefined || prefetchArg === '' ? undefined : Number(prefetchArg);

const expected = Array.from({ length: partitions }, (_, p) => Math.floor(messages / partitions) + (p < messages % partitions ? 1 : 0));

async function main(): Promise<void> {
  // Experiments (catch-up.ts BENCH_VARIANTS): the prototype decoder instead of ts-proto's.
  if (process.env.BENCH_PROTO_DECODER === '1') installFastMessageDecoder();
  // BENCH_FLOW_WINDOW: HTTP/2 flow-control window in bytes (grpc-js option), for experiments.
  const window = Number(process.env.BENCH_FLOW_WINDOW ?? '');
  // BENCH_SDK_TRANSPORT=grpc-js: the SDK's Subscribe over grpc-js (the path before the HTTP/2 client).
  const sdkTransport = process.env.BENCH_SDK_TRANSPORT === 'grpc-js' ? ('grpc-js' as const) : undefined;
  const lift = connect({ brokers: address!.split(','), ...(window > 0 ? { flowControlWindowBytes: window } : {}) });
  // Connection and cluster view before the clock starts (Go's Connect does the same).
  await firstValueFrom(lift.refreshMetadata());

  const next = new Array<number>(partitions).fill(0);
  const problems: string[] = [];
  let msgs = 0;

  const rssBefore = process.memoryUsage.rss();
  let peakRss = rssBefore;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
  }, 100);

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    (process.env.BENCH_TRANSPORT === 'http2'
      ? rawHttp2(lift, window > 0 ? window : 65_535)
      : lift.subscribe(stream!, {
          partitions: 'all',
          startAt: StartAt.earliest(),
          stopAt: StopAt.latest(),
          ...(prefetch === undefined ? {} : { prefetch }),
          ...(sdkTransport === undefined ? {} : { transport: sdkTransport }),
        })
    ).subscribe({
      next: (m) => {
        const p = m.partition;
        const offset = Number(m.offset);
        if (offset !== next[p]) {
          if (problems.length < 10) problems.push(`partition ${p}: expected offset ${next[p]}, got ${offset}`);
          if (offset < next[p]!) return; // a repeat is not progress
        }
        next[p] = offset + 1;
        msgs++;
      },
      error: reject,
      complete: resolve,
    });
  });
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  const rssAfter = process.memoryUsage.rss();
  if (rssAfter > peakRss) peakRss = rssAfter;

  for (let p = 0; p < partitions; p++) {
    if (next[p] !== expected[p]) problems.push(`partition ${p}: read up to offset ${next[p]! - 1}, expected ${expected[p]! - 1}`);
  }
  if (msgs !== messages) problems.push(`delivered ${msgs} messages, expected ${messages}`);
  const stats = lift.stats();
  await lift.close();

  const seconds = Number(t1 - t0) / 1e9;
  console.log(
    JSON.stringify({
      msgs,
      seconds,
      msgPerSec: msgs / seconds,
      cpuUserMs: cpu.user / 1e3,
      cpuSysMs: cpu.system / 1e3,
      cpuUsPerMsg: (cpu.user + cpu.system) / msgs,
      rssBeforeMb: rssBefore / 2 ** 20,
      peakRssMb: peakRss / 2 ** 20,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      openSubscribeCallsAfter: stats.openSubscribeCalls,
      ok: problems.length === 0,
      problems,
    }),
  );
}

/** The prototype transport: same start/stop resolution as the SDK (newest offset first), no retries. */
function rawHttp2(lift: LiftbridgeClient, window: number): Observable<Message> {
  const session = openSession(address!, { window });
  const one = (partition: number): Observable<Message> =>
    new Observable<Message>((subscriber) => {
      let sub: { cancel(): void } | undefined;
      const meta = lift.fetchPartitionMetadata(stream!, partition).subscribe({
        next: (info) => {
          let handshake = false;
          const ledger = new OffsetLedger(stream!, partition, Number.MAX_SAFE_INTEGER);
          sub = rawSubscribe(
            session,
            {
              stream: stream!,
              partition,
              startPosition: WireStart.EARLIEST,
              startOffset: 0n,
              startTimestamp: 0n,
              readISRReplica: false,
              resume: false,
              stopPosition: WireStop.STOP_OFFSET,
              stopOffset: info.newestOffset,
              stopTimestamp: 0n,
              reverse: false,
            },
            (b) => WireCodec.decode(b),
            (w) => {
              if (!handshake) {
                handshake = true;
                return;
              }
              const m = new ReceivedMessage(w, ledger, ledger.deliver(w.offset));
              subscriber.next(m);
              m.settle();
            },
            () => subscriber.complete(),
          );
        },
        error: (e: unknown) => subscriber.error(e),
      });
      return () => {
        meta.unsubscribe();
        sub?.cancel();
      };
    });
  return new Observable<Message>((subscriber) => {
    const s = merge(...Array.from({ length: partitions }, (_, p) => one(p))).subscribe(subscriber);
    return () => {
      s.unsubscribe();
      session.close();
    };
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
