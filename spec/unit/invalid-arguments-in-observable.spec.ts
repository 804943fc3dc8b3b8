/**
 * RxJS convention for invalid arguments (issue 8.10): a method that returns an Observable (or an
 * operator) never throws; the Observable errors with `InvalidArgumentError` when subscribed, before
 * anything is sent, so `catchError` sees it. No broker is needed: nothing may be sent.
 */
import { EMPTY, type Observable, catchError, firstValueFrom, of } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LiftbridgeClient } from '../../src/client.js';
import { connect } from '../../src/connect.js';
import { InvalidArgumentError, type LiftbridgeError } from '../../src/errors/errors.js';
import { commit } from '../../src/consume/commit.js';
import { consume } from '../../src/subscribe/consume.js';
import { publish } from '../../src/publish/publish.js';
import { publishBulk } from '../../src/publish/publish-bulk.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { publishToSubject } from '../../src/publish/publish-to-subject.js';
import type { Message } from '../../src/subscribe/types.js';

const UNREACHABLE = '127.0.0.1:1';
const bad = <T>(v: unknown): T => v as T;

let lift: LiftbridgeClient;
afterEach(async () => {
  await lift.close();
});

/** Each case builds an Observable from invalid input; `field` is the field the error must name. */
function cases(c: LiftbridgeClient): Array<[string, () => Observable<unknown>, string]> {
  const msgs = EMPTY as Observable<Message>;
  return [
    ['createStream', () => c.createStream({ name: 'a b' }), 'name'],
    ['createStream call options', () => c.createStream({ name: 'ok' }, { timeoutMs: -1 }), 'call.timeoutMs'],
    ['deleteStream', () => c.deleteStream(''), 'name'],
    ['pauseStream', () => c.pauseStream('s', bad({ partitions: [-1] })), 'options.partitions[0]'],
    ['setStreamReadonly', () => c.setStreamReadonly('s', bad({ readonly: 'yes' })), 'options.readonly'],
    ['fetchPartitionMetadata', () => c.fetchPartitionMetadata('s', -1), 'partition'],
    ['client.publish', () => c.publish('s', 'v', { ackWaitMs: -1 }), 'options.ackWaitMs'],
    ['client.publishToSubject', () => c.publishToSubject('', 'v'), 'subject'],
    ['subscribe', () => c.subscribe('s', { partition: -1 }), 'options.partition'],
    ['subscribe stream', () => c.subscribe(''), 'stream'],
    ['setCursor', () => c.setCursor({ stream: 's', partition: 0, cursorId: '', offset: 1n }), 'cursor.cursorId'],
    ['fetchCursor', () => c.fetchCursor({ stream: 's', partition: -1, cursorId: 'c' }), 'cursor.partition'],
    ['group', () => c.group('', { streams: ['s'] }), 'groupId'],
    ['publish()', () => publish(c, 's', 'v', { headers: bad('h') }), 'options.headers'],
    ['publishTo()', () => of('v').pipe(publishTo(c, 's', { maxInFlight: 0 })), 'options.maxInFlight'],
    ['publishTo() stream', () => of('v').pipe(publishTo(c, '')), 'stream'],
    ['publishBulk()', () => publishBulk(c, ['v'], bad({ stream: 7 })), 'options.stream'],
    ['publishToSubject()', () => publishToSubject(c, 'a.b', 'v', { ackWaitMs: 0 }), 'options.ackWaitMs'],
    ['consume()', () => msgs.pipe(consume(bad(undefined))), 'handler'],
    ['consume() options', () => msgs.pipe(consume(() => undefined, { concurrency: 0 })), 'options.concurrency'],
    ['commit()', () => msgs.pipe(commit(bad({}))), 'target'],
    ['commit() cursor id', () => msgs.pipe(commit(c, '')), 'cursorId'],
    ['commit() options', () => msgs.pipe(commit(c, 'c', { count: 0 })), 'options.count'],
  ];
}

describe('invalid arguments error the returned Observable (RxJS convention)', () => {
  it('no method or operator throws; each Observable errors on subscribe, catchError sees it, nothing connects', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    for (const [name, build, field] of cases(lift)) {
      let built: Observable<unknown> | undefined;
      expect(() => (built = build()), name).not.toThrow();
      const caught = await firstValueFrom(built!.pipe(catchError((e: unknown) => of(e))), { defaultValue: undefined });
      expect(caught, name).toBeInstanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).code, name).toBe('INVALID_ARGUMENT');
      expect((caught as InvalidArgumentError).field, name).toBe(field);
    }
    expect(lift.stats().connections).toEqual([]);
  });

  it('the error is the same on every subscription, and nothing is sent in between', async () => {
    lift = connect({ brokers: [UNREACHABLE] });
    const invalid = lift.subscribe('s', { prefetch: 0 });
    const a = await firstValueFrom(invalid).catch((e: unknown) => e);
    const b = await firstValueFrom(invalid).catch((e: unknown) => e);
    expect(a).toBeInstanceOf(InvalidArgumentError);
    expect(b).toBeInstanceOf(InvalidArgumentError);
    expect((a as LiftbridgeError).message).toBe((b as LiftbridgeError).message);
    expect(lift.stats().connections).toEqual([]);
  });
});
