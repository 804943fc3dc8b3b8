/**
 * InputScopes (src/publish/input-scopes.ts): the per-input instrumentation of publishTo() and
 * publishBulk(). Hooks that throw are logged and change nothing; a scope ends exactly once; the
 * input's own headers win over the ones a hook adds.
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../src/publish/in-flight-entry.js';
import { InputScopes } from '../../src/publish/input-scopes.js';
import type { PreparedMessage } from '../../src/publish/publish-message.js';

function entry(headers: Array<readonly [string, Uint8Array]> = []): Entry {
  const msg = { partition: 0, value: new Uint8Array(3), headers, size: 3 } as unknown as PreparedMessage;
  return { stream: 's', correlationId: 'c1', msg } as unknown as Entry;
}
const text = (e: Entry): Record<string, string> => Object.fromEntries((e.msg as PreparedMessage).headers.map(([n, v]) => [n, Buffer.from(v).toString()]));

describe('InputScopes', () => {
  it('adds the hook headers the input does not set, and ends each scope once with its outcome', () => {
    const ended: unknown[] = [];
    const scopes = new InputScopes({ publishStarted: () => ({ headers: { traceparent: 't', tracestate: 'x' }, end: (o) => ended.push(o) }) }, 1024, () => {});
    const e = entry([['tracestate', Buffer.from('mine')]]);
    scopes.start(e);
    expect(text(e)).toEqual({ traceparent: 't', tracestate: 'mine' });
    expect((e.msg as PreparedMessage).size).toBe(3 + 'traceparent'.length + 1);
    scopes.end(e, { error: 'boom' });
    scopes.end(e, { error: 'again' });
    scopes.endAll();
    expect(ended).toEqual([{ error: 'boom' }]);
  });

  it('leaves the headers out when they would take the message past maxMessageBytes; the scope still ends', () => {
    const ended: unknown[] = [];
    const scopes = new InputScopes({ publishStarted: () => ({ headers: { traceparent: 't'.repeat(55) }, end: (o) => ended.push(o) }) }, 40, () => {});
    const e = entry();
    scopes.start(e);
    expect(text(e)).toEqual({});
    expect((e.msg as PreparedMessage).size).toBe(3);
    scopes.end(e, { error: 'x' });
    expect(ended).toEqual([{ error: 'x' }]);
  });

  it('a hook that throws on start or on end is logged; the message is unchanged and the pipeline goes on', () => {
    const logged: string[] = [];
    const log = (m: string): void => {
      logged.push(m);
    };
    const throwsOnStart = new InputScopes(
      {
        publishStarted: () => {
          throw new Error('start');
        },
      },
      1024,
      log,
    );
    const a = entry();
    expect(() => throwsOnStart.start(a)).not.toThrow();
    expect(text(a)).toEqual({});
    const throwsOnEnd = new InputScopes(
      {
        publishStarted: () => ({
          end: () => {
            throw new Error('end');
          },
        }),
      },
      1024,
      log,
    );
    const b = entry();
    throwsOnEnd.start(b);
    expect(() => throwsOnEnd.endAll()).not.toThrow();
    expect(logged).toEqual(['instrumentation publishStarted threw', 'instrumentation publish end threw']);
  });
});
