import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SubscribeRequest, APIDefinition, StartPosition } from '../../src/generated/liftbridge/api.js';

describe('generated code', () => {
  it('is up to date with protos/ (npm run proto regenerates it)', () => {
    // scripts/proto.mjs --check regenerates into a temp dir and diffs with src/generated.
    const out = execFileSync(process.execPath, ['scripts/proto.mjs', '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/up to date/);
  }, 60_000);

  it('describes all 16 RPCs of proto.API with their streaming shapes', () => {
    expect(APIDefinition.fullName).toBe('proto.API');
    const shapes = Object.values(APIDefinition.methods).map((m) => `${m.name}:${m.requestStream ? 's' : 'u'}${m.responseStream ? 's' : 'u'}`);
    expect(shapes.sort()).toEqual(
      [
        'CreateStream:uu',
        'DeleteStream:uu',
        'PauseStream:uu',
        'SetStreamReadonly:uu',
        'Subscribe:us',
        'FetchMetadata:uu',
        'FetchPartitionMetadata:uu',
        'Publish:uu',
        'PublishAsync:ss',
        'PublishToSubject:uu',
        'SetCursor:uu',
        'FetchCursor:uu',
        'JoinConsumerGroup:uu',
        'LeaveConsumerGroup:uu',
        'FetchConsumerGroupAssignments:uu',
        'ReportConsumerGroupCoordinator:uu',
      ].sort(),
    );
  });

  it('encodes SubscribeRequest.reverse as field 12 and 64-bit fields as exact bigints', () => {
    const bytes = SubscribeRequest.encode(
      SubscribeRequest.fromPartial({ stream: 's', startPosition: StartPosition.OFFSET, startOffset: 2n ** 62n + 1n, reverse: true }),
    ).finish();
    // Field 12, wire type 0 (varint) => tag byte (12 << 3) | 0 = 0x60, then value 1.
    expect(Buffer.from(bytes).toString('hex')).toMatch(/6001$/);
    expect(SubscribeRequest.decode(bytes).startOffset).toBe(2n ** 62n + 1n);
  });
});
