import { ClientError, Status } from 'nice-grpc-common';
import { describe, expect, it } from 'vitest';
import {
  AckTimeoutError,
  ClientClosedError,
  ConnectionError,
  ConsumerGroupError,
  CursorsDisabledError,
  EncryptionFailedError,
  IncorrectOffsetError,
  InternalServerError,
  InvalidArgumentError,
  LiftbridgeError,
  type LiftbridgeErrorCode,
  MessageTooLargeError,
  NoSuchPartitionError,
  NoSuchStreamError,
  NotLeaderError,
  PartitionPausedError,
  PermissionDeniedError,
  ReadonlyPartitionError,
  StreamExistsError,
  TimeoutError,
  UnknownServerError,
} from '../../src/errors/errors.js';
import { type CallContext, isAbortError, isServiceError, mapAckError, mapError, mapPublishAsyncError, mapStatus } from '../../src/errors/map-error.js';
import { Ack_Error, PublishAsyncError_Code } from '../../src/generated/liftbridge/api.js';

type ErrorClass = abstract new (...args: never[]) => LiftbridgeError;

/** What grpc-js rejects a unary call with: an Error with a numeric code and a details string. */
function serviceError(code: Status, details: string): Error & { code: number; details: string; metadata: object } {
  return Object.assign(new Error(`${code} ${Status[code]}: ${details}`), { code, details, metadata: {} });
}

const ctx: CallContext = { rpc: 'CreateStream', address: '10.0.0.1:9292', stream: 'orders', partition: 2 };

describe('error classes', () => {
  const cases: [LiftbridgeError, ErrorClass, LiftbridgeErrorCode, boolean][] = [
    [new InvalidArgumentError('retry.jitter', 'bad'), InvalidArgumentError, 'INVALID_ARGUMENT', false],
    [new ConnectionError('m'), ConnectionError, 'CONNECTION', true],
    [new TimeoutError('m'), TimeoutError, 'TIMEOUT', true],
    [new AckTimeoutError('m'), AckTimeoutError, 'ACK_TIMEOUT', true],
    [new ClientClosedError(), ClientClosedError, 'CLIENT_CLOSED', false],
    [new StreamExistsError('m'), StreamExistsError, 'STREAM_EXISTS', false],
    [new NoSuchStreamError('m'), NoSuchStreamError, 'NO_SUCH_STREAM', false],
    [new NoSuchPartitionError('m'), NoSuchPartitionError, 'NO_SUCH_PARTITION', false],
    [new NotLeaderError('m'), NotLeaderError, 'NOT_LEADER', true],
    [new PartitionPausedError('m'), PartitionPausedError, 'PARTITION_PAUSED', false],
    [new ReadonlyPartitionError('m'), ReadonlyPartitionError, 'READONLY_PARTITION', false],
    [new IncorrectOffsetError('m'), IncorrectOffsetError, 'INCORRECT_OFFSET', false],
    [new MessageTooLargeError('m'), MessageTooLargeError, 'MESSAGE_TOO_LARGE', false],
    [new EncryptionFailedError('m'), EncryptionFailedError, 'ENCRYPTION_FAILED', false],
    [new PermissionDeniedError('m'), PermissionDeniedError, 'PERMISSION_DENIED', false],
    [new CursorsDisabledError('m'), CursorsDisabledError, 'CURSORS_DISABLED', false],
    [new ConsumerGroupError('m', true), ConsumerGroupError, 'CONSUMER_GROUP', true],
    [new ConsumerGroupError('m', false), ConsumerGroupError, 'CONSUMER_GROUP', false],
    [new InternalServerError('m'), InternalServerError, 'INTERNAL', true],
    [new UnknownServerError('m'), UnknownServerError, 'UNKNOWN', false],
  ];

  it.each(cases)('%s has its class, code and retriable flag', (error, cls, code, retriable) => {
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(LiftbridgeError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.retriable).toBe(retriable);
    expect(error.name).toBe(cls.name);
  });

  it('subclasses are not instances of their siblings', () => {
    const e = new NoSuchStreamError('m');
    expect(e instanceof NoSuchPartitionError).toBe(false);
    expect(e instanceof StreamExistsError).toBe(false);
    expect(new ConnectionError('m') instanceof TimeoutError).toBe(false);
  });

  it('carries cause, address, grpcCode and rpc', () => {
    const cause = new Error('root');
    const e = new ConnectionError('m', { cause, address: 'a:1', grpcCode: 'UNAVAILABLE', rpc: 'FetchMetadata' });
    expect(e.cause).toBe(cause);
    expect(e.address).toBe('a:1');
    expect(e.grpcCode).toBe('UNAVAILABLE');
    expect(e.rpc).toBe('FetchMetadata');
    expect('cause' in new ConnectionError('m')).toBe(false);
  });

  it('InvalidArgumentError names the field in .field and the message', () => {
    const e = new InvalidArgumentError('retry.maxRetries', 'expected an integer');
    expect(e.field).toBe('retry.maxRetries');
    expect(e.message).toBe('Invalid retry.maxRetries: expected an integer');
  });

  it('instanceof works across module copies through the brand', () => {
    // Simulates the same classes loaded from the other (CJS/ESM) copy of the package.
    class OtherLiftbridgeError extends Error {}
    Object.defineProperty(OtherLiftbridgeError.prototype, Symbol.for('rx-liftbridge.error'), { value: true });
    class NoSuchStreamErrorCopy extends OtherLiftbridgeError {}
    // The other copy's class has the real class name.
    Object.defineProperty(NoSuchStreamErrorCopy, 'name', { value: 'NoSuchStreamError' });
    const foreign = new NoSuchStreamErrorCopy('m');

    expect(foreign instanceof LiftbridgeError).toBe(true);
    expect(foreign instanceof NoSuchStreamError).toBe(true);
    expect(foreign instanceof NoSuchPartitionError).toBe(false);
  });

  it('instanceof rejects look-alikes without the brand', () => {
    class NoSuchStreamErrorLookAlike extends Error {}
    Object.defineProperty(NoSuchStreamErrorLookAlike, 'name', { value: 'NoSuchStreamError' });
    expect(new NoSuchStreamErrorLookAlike('m') instanceof NoSuchStreamError).toBe(false);
    expect(new NoSuchStreamErrorLookAlike('m') instanceof LiftbridgeError).toBe(false);
    expect(new Error('m') instanceof LiftbridgeError).toBe(false);
    expect((null as unknown) instanceof LiftbridgeError).toBe(false);
    expect(({ code: 'CONNECTION' } as unknown) instanceof LiftbridgeError).toBe(false);
  });
});

describe('mapStatus', () => {
  const table: [string, Status, string, string, ErrorClass, boolean][] = [
    ['UNAVAILABLE', Status.UNAVAILABLE, 'No connection established', 'CreateStream', ConnectionError, true],
    ['CANCELLED', Status.CANCELLED, 'Call cancelled', 'CreateStream', ConnectionError, true],
    ['DEADLINE_EXCEEDED', Status.DEADLINE_EXCEEDED, 'Deadline exceeded', 'CreateStream', TimeoutError, true],
    [
      'DEADLINE_EXCEEDED before any connection',
      Status.DEADLINE_EXCEEDED,
      'Deadline exceeded after 3.001s,name resolution: 0.001s,Waiting for LB pick',
      'CreateStream',
      ConnectionError,
      true,
    ],
    ['ALREADY_EXISTS', Status.ALREADY_EXISTS, 'stream already exists', 'CreateStream', StreamExistsError, false],
    ['NOT_FOUND partition with id', Status.NOT_FOUND, 'No such partition: 3', 'Publish', NoSuchPartitionError, false],
    ['NOT_FOUND partition (Subscribe)', Status.NOT_FOUND, 'No such partition', 'Subscribe', NoSuchPartitionError, false],
    ['NOT_FOUND partition does not exist', Status.NOT_FOUND, 'partition does not exist', 'PauseStream', NoSuchPartitionError, false],
    ['NOT_FOUND partition not found', Status.NOT_FOUND, 'partition not found', 'FetchPartitionMetadata', NoSuchPartitionError, false],
    ['NOT_FOUND stream', Status.NOT_FOUND, 'No such stream: x', 'Publish', NoSuchStreamError, false],
    ['NOT_FOUND stream not found', Status.NOT_FOUND, 'stream not found', 'SetCursor', NoSuchStreamError, false],
    ['NOT_FOUND stream does not exist', Status.NOT_FOUND, 'stream does not exist', 'DeleteStream', NoSuchStreamError, false],
    ['NOT_FOUND on a group RPC', Status.NOT_FOUND, 'consumer group does not exist', 'FetchConsumerGroupAssignments', ConsumerGroupError, false],
    ['NOT_FOUND on JoinConsumerGroup', Status.NOT_FOUND, 'No such stream: x', 'JoinConsumerGroup', ConsumerGroupError, false],
    ['not partition leader', Status.FAILED_PRECONDITION, 'Server not partition leader', 'Subscribe', NotLeaderError, true],
    ['should be sent to leader', Status.FAILED_PRECONDITION, 'The request should be sent to partition leader', 'FetchPartitionMetadata', NotLeaderError, true],
    ['not cursor partition leader', Status.FAILED_PRECONDITION, 'Server not cursor partition leader', 'SetCursor', NotLeaderError, true],
    [
      'not group coordinator',
      Status.FAILED_PRECONDITION,
      'broker is not the consumer group coordinator',
      'FetchConsumerGroupAssignments',
      NotLeaderError,
      true,
    ],
    [
      'group epoch',
      Status.FAILED_PRECONDITION,
      'client-provided group epoch differs from broker group epoch',
      'FetchConsumerGroupAssignments',
      ConsumerGroupError,
      true,
    ],
    ['not a member', Status.FAILED_PRECONDITION, 'consumer is not a member of the consumer group', 'LeaveConsumerGroup', ConsumerGroupError, false],
    ['no such partition (precondition)', Status.FAILED_PRECONDITION, 'No such partition [stream=s, partition=4]', 'ShrinkISR', NoSuchPartitionError, false],
    ['readonly', Status.FAILED_PRECONDITION, 'partition is readonly', 'Publish', ReadonlyPartitionError, false],
    ['paused', Status.FAILED_PRECONDITION, 'partition is paused', 'FetchPartitionMetadata', PartitionPausedError, false],
    ['precondition on Subscribe', Status.FAILED_PRECONDITION, 'something else', 'Subscribe', PartitionPausedError, false],
    [
      'encryption precondition',
      Status.FAILED_PRECONDITION,
      "Failed on preconditions for stream's encryption handler: no key",
      'CreateStream',
      EncryptionFailedError,
      false,
    ],
    ['other precondition', Status.FAILED_PRECONDITION, 'something else', 'CreateStream', UnknownServerError, false],
    ['cursors stream missing', Status.INTERNAL, 'Cursors stream does not exist', 'FetchCursor', CursorsDisabledError, false],
    ['cursors partition missing', Status.INTERNAL, 'Cursors partition 3 does not exist', 'SetCursor', CursorsDisabledError, false],
    ['INTERNAL encrypt', Status.INTERNAL, 'failed to encrypt message', 'Publish', EncryptionFailedError, false],
    ['INTERNAL closed log on Subscribe', Status.INTERNAL, 'segment has been closed', 'Subscribe', PartitionPausedError, false],
    ['INTERNAL closed log elsewhere', Status.INTERNAL, 'segment has been closed', 'Publish', InternalServerError, true],
    ['INTERNAL other', Status.INTERNAL, 'Failed to replicate partition: no leader', 'CreateStream', InternalServerError, true],
    ['not authorized', Status.UNKNOWN, 'The client is not authorized to call CreateStream on resource orders', 'CreateStream', PermissionDeniedError, false],
    ['incorrect offset', Status.UNKNOWN, 'incorrect expected offset', 'Publish', IncorrectOffsetError, false],
    ['UNKNOWN other', Status.UNKNOWN, 'api: Failed to retrieve client ID', 'CreateStream', UnknownServerError, false],
    ['PERMISSION_DENIED', Status.PERMISSION_DENIED, 'denied', 'CreateStream', PermissionDeniedError, false],
    ['UNAUTHENTICATED', Status.UNAUTHENTICATED, 'no cert', 'CreateStream', PermissionDeniedError, false],
    ['INVALID_ARGUMENT', Status.INVALID_ARGUMENT, 'Consumer id cannot be empty when group id is provided', 'Subscribe', InvalidArgumentError, false],
    ['INVALID_ARGUMENT too large', Status.INVALID_ARGUMENT, 'message exceeds max replication size', 'Publish', MessageTooLargeError, false],
    [
      'RESOURCE_EXHAUSTED too large',
      Status.RESOURCE_EXHAUSTED,
      'grpc: received message larger than max (5000 vs. 4194304)',
      'Publish',
      MessageTooLargeError,
      false,
    ],
    ['RESOURCE_EXHAUSTED end of readonly', Status.RESOURCE_EXHAUSTED, 'End of readonly partition', 'Subscribe', UnknownServerError, false],
    ['UNIMPLEMENTED', Status.UNIMPLEMENTED, 'unknown method', 'FetchCursor', UnknownServerError, false],
  ];

  it.each(table)('%s -> the right class', (_label, code, text, rpc, cls, retriable) => {
    const cause = new Error('raw');
    const e = mapStatus(code, text, { rpc, address: 'b:1' }, cause);
    expect(e).toBeInstanceOf(cls);
    expect(e).toBeInstanceOf(LiftbridgeError);
    expect(e.retriable).toBe(retriable);
    expect(e.grpcCode).toBe(Status[code]);
    expect(e.rpc).toBe(rpc);
    expect(e.address).toBe('b:1');
    expect(e.cause).toBe(cause);
    if (!(e instanceof InvalidArgumentError)) expect(e.message).toContain(text);
  });

  it('INVALID_ARGUMENT names the request as the invalid field', () => {
    const e = mapStatus(Status.INVALID_ARGUMENT, 'No groupId provided', ctx);
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).field).toBe('request');
  });

  it('puts the rpc, stream, partition and broker in the message', () => {
    const e = mapStatus(Status.UNAVAILABLE, 'down', ctx);
    expect(e.message).toBe('CreateStream stream=orders partition=2 broker=10.0.0.1:9292: down');
  });

  it('uses the status name when the details text is empty', () => {
    expect(mapStatus(Status.UNAVAILABLE, '', { rpc: 'X' }).message).toBe('X: UNAVAILABLE');
  });

  it('CursorsDisabledError explains how to enable cursors', () => {
    expect(mapStatus(Status.INTERNAL, 'Cursors stream does not exist', { rpc: 'FetchCursor' }).message).toMatch(/cursors\.stream\.partitions > 0/);
  });

  // BUG (src/errors/map-error.ts, mapStatus case DEADLINE_EXCEEDED): /LB pick/ also matches
  // grpc-js's "LB pick: 0.006s", which it adds whenever the pick took >= 1 ms, i.e. also when the
  // call WAS sent on an established connection (note remote_addr). Text copied from grpc-js 1.14.7
  // against a live server that does not answer within the deadline. Such a server-side timeout
  // (outcome unknown) is reported as a ConnectionError ("no broker reachable"). Only
  // "Waiting for LB pick" means no connection was ever established.
  it('DEADLINE_EXCEEDED on an established connection (LB pick took some ms) is a TimeoutError', () => {
    const text = 'Deadline exceeded after 0.299s,name resolution: 0.002s,metadata filters: 0.001s,LB pick: 0.006s,remote_addr=127.0.0.1:35115';
    expect(mapStatus(Status.DEADLINE_EXCEEDED, text, { rpc: 'Publish' })).toBeInstanceOf(TimeoutError);
  });

  // BUG (src/errors/map-error.ts, mapStatus case NOT_FOUND): the server answers
  // "No such stream: <name>" (server/api.go resumeStream), and /partition/i is tested on the whole
  // text, so a stream whose *name* contains "partition" is reported as NoSuchPartitionError.
  it('NOT_FOUND "No such stream: <name>" is NoSuchStreamError even when the name contains "partition"', () => {
    expect(mapStatus(Status.NOT_FOUND, 'No such stream: partitioned-orders', { rpc: 'Publish' })).toBeInstanceOf(NoSuchStreamError);
  });
});

describe('mapError', () => {
  it('passes a LiftbridgeError through unchanged', () => {
    const e = new NotLeaderError('m');
    expect(mapError(e, ctx)).toBe(e);
  });

  it('maps a grpc-js ServiceError by its status code and details', () => {
    const raw = serviceError(Status.NOT_FOUND, 'No such stream: orders');
    expect(isServiceError(raw)).toBe(true);
    const e = mapError(raw, ctx);
    expect(e).toBeInstanceOf(NoSuchStreamError);
    expect(e.cause).toBe(raw);
    expect(e.grpcCode).toBe('NOT_FOUND');
    expect(e.message).toContain('No such stream: orders');
  });

  it('maps a nice-grpc ClientError by its status code and details', () => {
    const raw = new ClientError('/proto.API/CreateStream', Status.ALREADY_EXISTS, 'stream already exists');
    const e = mapError(raw, ctx);
    expect(e).toBeInstanceOf(StreamExistsError);
    expect(e.cause).toBe(raw);
  });

  it('maps a socket-level Error to a ConnectionError carrying it as cause', () => {
    const raw = new Error('socket hang up');
    const e = mapError(raw, ctx);
    expect(e).toBeInstanceOf(ConnectionError);
    expect(e.retriable).toBe(true);
    expect(e.cause).toBe(raw);
    expect(e.address).toBe('10.0.0.1:9292');
    expect(e.rpc).toBe('CreateStream');
    expect(e.message).toContain('socket hang up');
  });

  it('maps anything else (a bug, a non-Error value) to a non-retriable UnknownServerError', () => {
    const e = mapError('weird', { rpc: 'X' });
    expect(e).toBeInstanceOf(UnknownServerError);
    expect(e.retriable).toBe(false);
    expect(mapError(new TypeError('x is not a function'), { rpc: 'X' })).toBeInstanceOf(UnknownServerError);
    expect(e.message).toContain('weird');
  });

  it('maps "Channel has been shut down" to ClientClosedError', () => {
    const raw = new Error('Channel has been shut down');
    const e = mapError(raw, ctx);
    expect(e).toBeInstanceOf(ClientClosedError);
    expect(e.cause).toBe(raw);
  });

  it('does not take an Error with a string code for a ServiceError', () => {
    const raw = Object.assign(new Error('ECONNREFUSED'), { code: 'ECONNREFUSED', details: 'x' });
    expect(isServiceError(raw)).toBe(false);
    expect(mapError(raw, ctx)).toBeInstanceOf(ConnectionError);
  });
});

describe('isAbortError', () => {
  it('recognises AbortError and client-side cancellation only', () => {
    const abort = new Error('The operation was aborted');
    abort.name = 'AbortError';
    expect(isAbortError(abort)).toBe(true);
    expect(isAbortError(new ClientError('/p/M', Status.CANCELLED, 'The operation was aborted'))).toBe(true);
    expect(isAbortError(new ClientError('/p/M', Status.CANCELLED, 'Cancelled on client'))).toBe(true);
    expect(isAbortError(new ClientError('/p/M', Status.CANCELLED, 'server went away'))).toBe(false);
    expect(isAbortError(new ClientError('/p/M', Status.UNAVAILABLE, 'aborted'))).toBe(false);
    expect(isAbortError(new Error('boom'))).toBe(false);
    expect(isAbortError(null)).toBe(false);
  });
});

describe('mapPublishAsyncError', () => {
  const pctx: CallContext = { rpc: 'PublishAsync', address: 'b:1' };
  const table: [string, PublishAsyncError_Code, string, ErrorClass][] = [
    ['UNKNOWN', PublishAsyncError_Code.UNKNOWN, 'unknown error', UnknownServerError],
    ['BAD_REQUEST', PublishAsyncError_Code.BAD_REQUEST, 'stream with concurrency control must have AckPolicy set', InvalidArgumentError],
    ['BAD_REQUEST too large', PublishAsyncError_Code.BAD_REQUEST, 'message exceeds max replication size', MessageTooLargeError],
    ['NOT_FOUND stream', PublishAsyncError_Code.NOT_FOUND, 'no such stream: orders', NoSuchStreamError],
    ['NOT_FOUND partition', PublishAsyncError_Code.NOT_FOUND, 'no such partition: 7', NoSuchPartitionError],
    ['INTERNAL', PublishAsyncError_Code.INTERNAL, 'raft failure', InternalServerError],
    ['READONLY', PublishAsyncError_Code.READONLY, 'readonly partition: 0', ReadonlyPartitionError],
    ['INCORRECT_OFFSET', PublishAsyncError_Code.INCORRECT_OFFSET, 'incorrect expected offset', IncorrectOffsetError],
    ['ENCRYPTION_FAILED', PublishAsyncError_Code.ENCRYPTION_FAILED, 'encryption failed on partition', EncryptionFailedError],
    ['PERMISSION_DENIED', PublishAsyncError_Code.PERMISSION_DENIED, 'The client is not authorized', PermissionDeniedError],
    ['UNRECOGNIZED', PublishAsyncError_Code.UNRECOGNIZED, 'future code', UnknownServerError],
  ];

  it.each(table)('%s -> the right class', (_label, code, text, cls) => {
    const e = mapPublishAsyncError(code, text, pctx);
    expect(e).toBeInstanceOf(cls);
    expect(e.rpc).toBe('PublishAsync');
    expect(e.address).toBe('b:1');
    if (!(e instanceof InvalidArgumentError)) expect(e.message).toContain(text);
  });

  it('BAD_REQUEST names the message as the invalid field', () => {
    const e = mapPublishAsyncError(PublishAsyncError_Code.BAD_REQUEST, 'bad', pctx);
    expect((e as InvalidArgumentError).field).toBe('message');
  });

  it('falls back to the code name when the server sends no text', () => {
    expect(mapPublishAsyncError(PublishAsyncError_Code.READONLY, '', pctx).message).toContain('READONLY');
  });

  // BUG (src/errors/map-error.ts, mapPublishAsyncError case NOT_FOUND): same as mapStatus, the
  // stream name inside "no such stream: <name>" is matched against /partition/i.
  it('NOT_FOUND "no such stream: <name>" is NoSuchStreamError even when the name contains "partition"', () => {
    expect(mapPublishAsyncError(PublishAsyncError_Code.NOT_FOUND, 'no such stream: partition-test', pctx)).toBeInstanceOf(NoSuchStreamError);
  });
});

describe('mapAckError', () => {
  const actx: CallContext = { rpc: 'Publish', stream: 'orders', partition: 0 };

  it('returns undefined for OK', () => {
    expect(mapAckError(Ack_Error.OK, actx)).toBeUndefined();
  });

  it.each([
    ['UNKNOWN', Ack_Error.UNKNOWN, UnknownServerError],
    ['INCORRECT_OFFSET', Ack_Error.INCORRECT_OFFSET, IncorrectOffsetError],
    ['TOO_LARGE', Ack_Error.TOO_LARGE, MessageTooLargeError],
    ['ENCRYPTION', Ack_Error.ENCRYPTION, EncryptionFailedError],
    ['UNRECOGNIZED', Ack_Error.UNRECOGNIZED, UnknownServerError],
  ] as [string, Ack_Error, ErrorClass][])('%s -> the right class', (_label, code, cls) => {
    const e = mapAckError(code, actx);
    expect(e).toBeInstanceOf(cls);
    expect(e?.retriable).toBe(false);
    expect(e?.rpc).toBe('Publish');
    expect(e?.message).toMatch(/^Publish stream=orders partition=0: /);
  });
});
