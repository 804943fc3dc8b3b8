/**
 * The public publishing API (re-exported by the package root).
 *
 * @module
 */
export { publish } from './publish.js';
export { publishTo, type PublishOperator } from './publish-to.js';
export { publishBulk } from './publish-bulk.js';
export { publishToSubject, type PublishToSubjectOptions, type SubjectOutcome, type SubjectSent } from './publish-to-subject.js';
export {
  decodeEnvelope,
  encodeAckEnvelope,
  encodeEnvelope,
  ENVELOPE_MAGIC,
  isEnvelope,
  type DecodedEnvelope,
  type EnvelopedMessage,
  type EnvelopeMessage,
  type EnvelopeOptions,
} from './envelope.js';
export { partitionForKey } from './partitioner.js';
export { DEFAULT_PUBLISH_OPTIONS } from './publish-options.js';
export type { PublishSource } from './types.js';
export type {
  Ack,
  AckData,
  AckJSON,
  AckOf,
  AckPolicy,
  Bytes,
  Outcome,
  Partitioner,
  PartitionerContext,
  PartitionerFunction,
  PublishBulkOptions,
  PublishInput,
  PublishMessage,
  PublishOptions,
  PublishResult,
  PublishToOptions,
  Sent,
} from './types.js';
