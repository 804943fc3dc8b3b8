/**
 * rx-liftbridge for browsers: the SDK's Observables over gRPC-web, through a proxy (grpcwebproxy,
 * Envoy) in front of Liftbridge. Bundlers pick this entry through the `"browser"` export condition
 * of `rx-liftbridge`; it is also `rx-liftbridge/browser`. Nothing here loads a Node built-in.
 *
 * @packageDocumentation
 */
export { connectWeb, LiftbridgeWebClient } from './web-client.js';
export { DEFAULT_WEB_CLIENT_OPTIONS } from './web-types.js';
export type { WebClientOptions, WebClientStats, WebClientStatus, WebPublishOptions, WebPublishToOptions, WebSubscriptionStats } from './web-types.js';
export type { CreateStreamOptions } from '../admin/create-stream-options.js';
export { ClusterMetadata } from '../metadata/cluster-metadata.js';
export type { BrokerInfo, EventTimestamps, PartitionInfo, StreamInfo } from '../metadata/cluster-metadata.js';
export type { Logger } from '../internal/logger.js';
export * from '../errors/errors.js';
export type { Ack, AckJSON, AckPolicy, Bytes, PublishInput, PublishMessage, Sent } from '../publish/types.js';
export { StartAt, StopAt } from '../subscribe/types.js';
export type { Message, MessageJSON, StartPosition, StopPosition, SubscribeOptions } from '../subscribe/types.js';
export { consume } from '../subscribe/consume.js';
export type { ConsumeOptions, MessageHandler } from '../subscribe/consume.js';
export { DEFAULT_PREFETCH } from '../subscribe/subscribe.js';
