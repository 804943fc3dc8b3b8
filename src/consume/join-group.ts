/** `LiftbridgeClient.group()`: a consumer group over the core, tracked for `close()`. */
import type { Observable } from 'rxjs';
import type { ClientCore } from '../core/client-core.js';
import { validated } from '../internal/validate.js';
import { consumerGroup } from './consumer-group.js';
import { groupHost } from './group-host.js';
import type { AssignedPartition, GroupOptions } from './group-options.js';

export function joinGroup(core: ClientCore, groupId: string, options: GroupOptions): Observable<AssignedPartition> {
  return validated(() => core.track(consumerGroup(groupHost(core), groupId, options), 'stream'));
}
