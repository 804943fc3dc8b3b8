/**
 * User callbacks around commit() cannot break its state: a throwing onCommit is logged, and the
 * operator goes on writing and letting messages out; a store whose save throws synchronously
 * ends the operator with that error instead of escaping into the caller.
 */
import { Observable, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { commit, type Logger, type Message, type PositionStore } from '../../src/index.js';

const message = (offset: bigint): Message =>
  ({
    stream: 's',
    partition: 0,
    offset,
    timestampNs: 0n,
    timestamp: new Date(0),
    key: new Uint8Array(),
    value: new Uint8Array(),
    headers: {},
    subject: 's',
    replySubject: '',
  }) as Message;

function memoryStore(): PositionStore & { saves: bigint[] } {
  const saves: bigint[] = [];
  return {
    saves,
    load: () => [undefined],
    save: (_s, _p, offset) =>
      new Observable<void>((sub) => {
        saves.push(offset);
        sub.complete();
      }),
  };
}

function recordingLogger(): Logger & { errors: string[] } {
  const errors: string[] = [];
  const noop = (): void => undefined;
  return { errors, debug: noop, info: noop, warn: noop, error: (m) => void errors.push(m) };
}

describe('commit() and user callbacks', () => {
  it("a throwing onCommit does not stop emit 'committed' from letting messages out", () => {
    const store = memoryStore();
    const source = new Subject<Message>();
    const out: bigint[] = [];
    const sub = source
      .pipe(
        commit(store, {
          count: 2,
          timeMs: 0,
          emit: 'committed',
          onCommit: () => {
            throw new Error('boom');
          },
        }),
      )
      .subscribe((m) => out.push(m.offset));
    for (let i = 0n; i < 6n; i++) source.next(message(i));
    expect(store.saves).toEqual([1n, 3n, 5n]);
    expect(out).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    sub.unsubscribe();
  });

  it('what onCommit throws goes to the logger', () => {
    const logger = recordingLogger();
    const source = new Subject<Message>();
    const sub = source
      .pipe(
        commit(memoryStore(), {
          count: 1,
          timeMs: 0,
          logger,
          onCommit: () => {
            throw new Error('boom');
          },
        }),
      )
      .subscribe();
    source.next(message(0n));
    source.next(message(1n));
    expect(logger.errors).toEqual(['commit(): onCommit threw', 'commit(): onCommit threw']);
    sub.unsubscribe();
  });

  it('a store whose save throws synchronously ends the operator with that error', () => {
    const source = new Subject<Message>();
    const failure = new Error('store down');
    let error: unknown;
    const store: PositionStore = {
      load: () => [undefined],
      save: () => {
        throw failure;
      },
    };
    expect(
      () => source.pipe(commit(store, { count: 1, timeMs: 0 })).subscribe({ error: (e: unknown) => (error = e) }) && source.next(message(0n)),
    ).not.toThrow();
    expect(error).toBe(failure);
  });
});
