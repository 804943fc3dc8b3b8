/**
 * What instrumentation costs on the consume() path, without a broker: N synthetic messages through
 * `consume(handler)` with a synchronous handler, in three modes, each in a fresh process (the
 * "was anything ever instrumented" flag is per process):
 *   off     no instrument() anywhere (the default path)
 *   noop    rx-liftbridge/otel with tracing and metrics off (hooks installed, nothing recorded)
 *   sdk     rx-liftbridge/otel with the OTel SDK (AlwaysOn sampler, a no-op span processor; metrics to an un-read MeterProvider)
 * `node --import tsx bench/observability/consume-overhead.ts [messages]` prints messages/s per mode
 * (median of 5 runs).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Observable, lastValueFrom } from 'rxjs';
import { connect, consume, type Message } from '../../src/index.js';
import { tagMessage } from '../../src/observability/consume-hooks.js';
import { instrumentationOf } from '../../src/observability/instrumentation.js';
import { coreOf } from '../../src/core/internal-access.js';

const N = Number(process.argv[3] ?? process.argv[2] ?? 500_000);
const mode = process.argv[2];

function messages(n: number, tag: ((m: Message) => void) | undefined): Observable<Message> {
  return new Observable<Message>((sub) => {
    const value = new Uint8Array(100);
    for (let i = 0; i < n; i++) {
      const m: Message = {
        stream: 's',
        partition: 0,
        offset: BigInt(i),
        timestampNs: 0n,
        timestamp: new Date(0),
        key: new Uint8Array(0),
        value,
        headers: Object.create(null) as Record<string, Uint8Array>,
        subject: 's',
        replySubject: '',
      };
      tag?.(m);
      sub.next(m);
    }
    sub.complete();
  });
}

async function child(which: string): Promise<void> {
  const lift = connect({ brokers: ['127.0.0.1:1'] });
  let tag: ((m: Message) => void) | undefined;
  if (which !== 'off') {
    const { instrument } = await import('../../src/otel/index.js');
    if (which === 'noop') instrument(lift, { tracerProvider: false, meterProvider: false, lagIntervalMs: 0 });
    else {
      const { BasicTracerProvider, NoopSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
      const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
      instrument(lift, {
        tracerProvider: new BasicTracerProvider({ spanProcessors: [new NoopSpanProcessor()] }),
        meterProvider: new MeterProvider(),
        lagIntervalMs: 0,
      });
    }
    const hooks = instrumentationOf(coreOf(lift));
    if (hooks === undefined) throw new Error('not instrumented');
    // What subscribe() does for an instrumented client.
    tag = (m) => tagMessage(m, hooks, { debug() {}, info() {}, warn() {}, error() {} });
  }
  let handled = 0;
  await lastValueFrom(messages(10_000, tag).pipe(consume(() => void handled++)), { defaultValue: undefined }); // warm-up
  const start = process.hrtime.bigint();
  await lastValueFrom(messages(N, tag).pipe(consume(() => void handled++)), { defaultValue: undefined });
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  await lift.destroy();
  process.stdout.write(`${Math.round(N / s)}\n`);
}

if (mode === 'off' || mode === 'noop' || mode === 'sdk') {
  await child(mode);
} else {
  const self = fileURLToPath(import.meta.url);
  for (const m of ['off', 'noop', 'sdk']) {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) runs.push(Number(execFileSync(process.execPath, ['--import', 'tsx', self, m, String(N)], { encoding: 'utf8' }).trim()));
    runs.sort((a, b) => a - b);
    console.log(`${m.padEnd(5)} ${runs[2]?.toLocaleString('en')} messages/s (runs: ${runs.join(', ')})`);
  }
}
