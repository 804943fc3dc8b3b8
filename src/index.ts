/**
 * rx-liftbridge: a reactive TypeScript SDK for the Liftbridge streaming broker.
 *
 * @packageDocumentation
 */
export { LiftbridgeClient } from './client.js';
export { connect } from './connect.js';
export type { CallOptions } from './core/call-options.js';
export type { ClientStats, ConnectionStats } from './client-stats.js';
export type { PauseStreamOptions, SetStreamReadonlyOptions } from './admin/admin-options.js';
export type { ClientRef } from './core/client-ref.js';
export type { CursorKey, CursorPosition } from './consume/cursor-position.js';
export { DEFAULT_CLIENT_OPTIONS } from './client-options.js';
export type { ClientOptions } from './client-options.js';
export type { CreateStreamOptions } from './admin/create-stream-options.js';
export type { ClientStatus } from './status.js';
export { ClusterMetadata } from './metadata/cluster-metadata.js';
export type { BrokerInfo, EventTimestamps, PartitionInfo, StreamInfo } from './metadata/cluster-metadata.js';
export { DEFAULT_RETRY, backoffDelay } from './retry/retry-policy.js';
export type { RetryOptions, RetryPolicy } from './retry/retry-policy.js';
export { roundRobin, shuffle } from './retry/failover.js';
export type { FailoverFunction, FailoverStrategy } from './retry/failover.js';
export type { TlsOptions } from './transport/settings.js';
export type { Logger } from './internal/logger.js';
export * from './errors/errors.js';
export * from './publish/index.js';
export { StartAt, StopAt } from './subscribe/types.js';
export type { Message, MessageJSON, StartPosition, StopPosition, SubscribeOptions } from './subscribe/types.js';
export { consume } from './subscribe/consume.js';
export type { ConsumeOptions, MessageHandler } from './subscribe/consume.js';
export { DEFAULT_PREFETCH } from './subscribe/subscribe.js';
export type { PartitionSubscriptionStats } from './subscribe/subscription-stats.js';
export { commit } from './consume/commit.js';
export type { CommitOptions } from './consume/commit.js';
export { cursorStore } from './consume/position-store.js';
export type { PositionStore } from './consume/position-store.js';
export type { AssignedPartition, GroupOptions } from './consume/group-options.js';
export { DEFAULT_LAG_INTERVAL_MS } from './observability/lag.js';
export type { LagOptions, PartitionLag } from './observability/lag.js';
export { setInstrumentation } from './observability/instrumentation.js';
export type { ClientInstrumentation, ConsumeScope, PublishScope, PublishStart } from './observability/instrumentation.js';
export { consoleLogger, pinoLogger, winstonLogger } from './observability/loggers.js';
export type { ConsoleLike, LogLevel, LoggerAdapterOptions, PinoLike, WinstonLike } from './observability/loggers.js';
