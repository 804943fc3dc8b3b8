import { Observable, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type ClientInstrumentation, InvalidArgumentError, type Message, connect, consume, setInstrumentation } from '../../src/index.js';
import { tagMessage } from '../../src/observability/consume-hooks.js';

function message(offset: bigint): Message {
  return {
    stream: 's',
    partition: 0,
    offset,
    timestampNs: 0n,
    timestamp: new Date(0),
    key: new Uint8Array(0),
    value: new Uint8Array(0),
    headers: Object.create(null) as Record<string, Uint8Array>,
    subject: 's',
    replySubject: '',
  };
}

/** Messages as an instrumented subscription delivers them: tagged with the client's hooks. */
function delivered(hooks: ClientInstrumentation, log: unknown[][], count = 3): Observable<Message> {
  const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (...a: unknown[]) => void log.push(a) };
  return new Observable<Message>((sub) => {
    for (let i = 0; i < count; i++) {
      const m = message(BigInt(i));
      tagMessage(m, hooks, logger);
      sub.next(m);
    }
    sub.complete();
  });
}

describe('instrumentation hooks in consume()', () => {
  it('wraps each handler in its scope and ends it with the outcome', async () => {
    const events: string[] = [];
    const hooks: ClientInstrumentation = {
      consumeStarted: (m) => ({
        run: (fn) => {
          events.push(`run ${m.offset}`);
          return fn();
        },
        end: (error) => void events.push(`end ${m.offset}${error === undefined ? '' : ` ${String(error)}`}`),
      }),
    };
    const out = await lastValueFrom(
      delivered(hooks, []).pipe(
        consume(async (m) => void events.push(`handle ${m.offset}`)),
        toArray(),
      ),
    );
    expect(out.map((m) => m.offset)).toEqual([0n, 1n, 2n]);
    expect(events).toEqual(['run 0', 'handle 0', 'end 0', 'run 1', 'handle 1', 'end 1', 'run 2', 'handle 2', 'end 2']);

    events.length = 0;
    await expect(lastValueFrom(delivered(hooks, [], 1).pipe(consume(() => Promise.reject(new Error('bad')))))).rejects.toThrow('bad');
    expect(events).toEqual(['run 0', 'end 0 Error: bad']);
  });

  it('hooks that throw are logged; the handler runs exactly once and the outcome is unchanged', async () => {
    for (const broken of [
      {
        consumeStarted: () => {
          throw new Error('start');
        },
      },
      {
        consumeStarted: () => ({
          run: () => {
            throw new Error('run');
          },
          end: () => undefined,
        }),
      },
      { consumeStarted: () => ({ run: () => undefined as never, end: () => undefined }) },
      {
        consumeStarted: () => ({
          run: <T>(fn: () => T) => fn(),
          end: () => {
            throw new Error('end');
          },
        }),
      },
    ] as ClientInstrumentation[]) {
      const log: unknown[][] = [];
      let calls = 0;
      const out = await lastValueFrom(
        delivered(broken, log).pipe(
          consume(() => void calls++),
          toArray(),
        ),
      );
      expect(out.map((m) => m.offset)).toEqual([0n, 1n, 2n]);
      expect(calls).toBe(3);
    }
  });

  it('setInstrumentation rejects what is not a client or not hooks, naming the field', () => {
    const lift = connect({ brokers: ['127.0.0.1:1'] });
    expect(() => setInstrumentation({} as never, {})).toThrow(InvalidArgumentError);
    expect(() => setInstrumentation(lift, { publishStarted: 1 } as never)).toThrowError(/hooks.publishStarted/);
    const off = setInstrumentation(lift, {});
    off();
    void lift.destroy();
  });
});
