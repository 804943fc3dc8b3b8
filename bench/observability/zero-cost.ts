/**
 * "Zero cost when not enabled", measured on a real broker in ONE run, interleaved:
 *
 *   node --import tsx bench/observability/zero-cost.ts
 *
 * Modes (one client each, same broker): (a) `off` = not instrumented; (b) `noop` = instrument()
 * with tracing and metrics off; (c) `sdk` = instrument() with the OTel SDK on (AlwaysOn sampler,
 * an in-memory span exporter cleared after every run, an SDK MeterProvider with a reader).
 * Workloads: publishTo() pipelined with window 128 and 1024 (a fresh stream per run), and a
 * catch-up subscribe through consume() of one pre-filled stream. Within a round the modes rotate
 * which goes first. Every run is checked: every ack once with contiguous offsets 0..N-1, every
 * offset consumed once in order. Reports per mode the median msg/s and client CPU µs per message
 * (process.cpuUsage, user + system; the broker is another process), and the median of the
 * per-round ratios to `off`. CPU per message is the steady figure on a shared machine.
 *
 * Knobs: BENCH_ROUNDS (5), BENCH_COUNT (20000), BENCH_SIZE (256).
 */
import { AlwaysOnSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { type LiftbridgeClient, StartAt, connect, consume, publishTo } from '../../src/index.js';
import { type ClientTelemetry, instrument } from '../../src/otel/index.js';
import { startSingleNode, uniqueName } from '../../spec/support/broker.js';

const envInt = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
};
const ROUNDS = envInt('BENCH_ROUNDS', 5);
const COUNT = envInt('BENCH_COUNT', 20_000);
const SIZE = envInt('BENCH_SIZE', 256);

class Reader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Mode = 'off' | 'noop' | 'sdk';
const MODES: readonly Mode[] = ['off', 'noop', 'sdk'];
interface Sample {
  readonly msgPerSec: number;
  readonly cpuUsPerMsg: number;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function measure(run: () => Promise<void>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run();
  const ns = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { msgPerSec: COUNT / (ns / 1e9), cpuUsPerMsg: (cpu.user + cpu.system) / COUNT };
}

function checkOffsets(offsets: readonly bigint[], what: string): void {
  if (offsets.length !== COUNT) throw new Error(`${what}: ${offsets.length} of ${COUNT}`);
  offsets.forEach((o, i) => {
    if (o !== BigInt(i)) throw new Error(`${what}: offset ${o} at position ${i}`);
  });
}

async function main(): Promise<void> {
  const node = await startSingleNode({ logLevel: 'warn', activity: false });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new SimpleSpanProcessor(spans)] });
  const meterProvider = new MeterProvider({ readers: [new Reader()] });
  const clients = {} as Record<Mode, LiftbridgeClient>;
  const telemetry: ClientTelemetry[] = [];
  for (const mode of MODES) clients[mode] = connect({ brokers: [node.address] });
  telemetry.push(instrument(clients.noop, { tracerProvider: false, meterProvider: false }));
  telemetry.push(instrument(clients.sdk, { tracerProvider, meterProvider }));
  const value = new Uint8Array(SIZE).fill(120);
  const inputs = (): Iterable<Uint8Array> => Array.from({ length: COUNT }, () => value);

  const admin = clients.off;
  const filled = uniqueName('zc-sub');
  await firstValueFrom(admin.createStream({ name: filled }));
  await lastValueFrom(publishTo(admin, filled, { maxInFlight: 1024 })(inputs()).pipe(toArray()));

  const workloads: Record<string, (c: LiftbridgeClient) => Promise<void>> = {
    'publishTo window 128': (c) => publishRun(c, 128),
    'publishTo window 1024': (c) => publishRun(c, 1024),
    'subscribe catch-up (consume)': async (c) => {
      const offsets: bigint[] = [];
      await lastValueFrom(
        c.subscribe(filled, { startAt: StartAt.earliest() }).pipe(
          take(COUNT),
          consume((m) => {
            offsets.push(m.offset);
          }),
          toArray(),
        ),
      );
      checkOffsets(offsets, 'subscribe');
    },
  };
  async function publishRun(c: LiftbridgeClient, window: number): Promise<void> {
    const name = uniqueName('zc-pub');
    await firstValueFrom(admin.createStream({ name }));
    const acks = await lastValueFrom(publishTo(c, name, { maxInFlight: window })(inputs()).pipe(toArray()));
    checkOffsets(
      acks.map((a) => ('offset' in a ? a.offset : -1n)),
      `publish ${window}`,
    );
  }

  const results: Record<string, Record<Mode, Sample[]>> = {};
  for (const w of Object.keys(workloads)) results[w] = { off: [], noop: [], sdk: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [w, run] of Object.entries(workloads)) {
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(k + round) % MODES.length] as Mode;
        const sample = await measure(() => run(clients[mode]));
        spans.reset();
        if (round > 0) results[w]?.[mode].push(sample); // round 0: warm-up
      }
    }
    process.stderr.write(`round ${round}/${ROUNDS} done\n`);
  }

  console.log(`\n${COUNT} messages of ${SIZE} B per run, ${ROUNDS} rounds (+1 warm-up), modes interleaved\n`);
  console.log('| workload | mode | msg/s (median) | CPU µs/msg (median) | msg/s ÷ off (median of rounds) | CPU/msg ÷ off (median of rounds) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [w, byMode] of Object.entries(results)) {
    for (const mode of MODES) {
      const s = byMode[mode];
      const rate = s.map((x, i) => x.msgPerSec / (byMode.off[i] as Sample).msgPerSec);
      const cpu = s.map((x, i) => x.cpuUsPerMsg / (byMode.off[i] as Sample).cpuUsPerMsg);
      console.log(
        `| ${w} | ${mode} | ${Math.round(median(s.map((x) => x.msgPerSec)))} | ${median(s.map((x) => x.cpuUsPerMsg)).toFixed(2)} | ${median(rate).toFixed(3)} | ${median(cpu).toFixed(3)} |`,
      );
    }
  }
  for (const t of telemetry) t.uninstrument();
  await Promise.all(MODES.map((m) => clients[m].destroy()));
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  await node.stop();
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
