/**
 * The NestJS adapter of rx-liftbridge (`rx-liftbridge/nestjs`): a module providing the client,
 * a microservice transport for `@EventPattern` handlers and a `ClientProxy` that publishes.
 * Needs `@nestjs/common`, `@nestjs/core`, `@nestjs/microservices` and `reflect-metadata`.
 *
 * @module
 */
export {
  DEFAULT_LIFTBRIDGE_CLIENT_NAME,
  getLiftbridgeClientToken,
  getLiftbridgeHealthToken,
  LiftbridgeHealth,
  LiftbridgeModule,
  type LiftbridgeHealthState,
  type LiftbridgeModuleAsyncOptions,
  type LiftbridgeModuleOptions,
} from './liftbridge.module.js';
export {
  DEFAULT_LIFTBRIDGE_SERVER_OPTIONS,
  LiftbridgeServer,
  type LiftbridgeDeserializer,
  type LiftbridgeErrorPolicy,
  type LiftbridgeServerOptions,
  type LiftbridgeServerStatus,
} from './liftbridge-server.js';
export { LiftbridgeClientProxy, type LiftbridgeClientProxyOptions, type LiftbridgeSerializer } from './liftbridge-client-proxy.js';
export { LiftbridgeContext } from './liftbridge-context.js';
export { nestLogger, type NestLoggerOptions } from './nest-logger.js';
export {
  LiftbridgeJsonDeserializer,
  LiftbridgeJsonSerializer,
  LiftbridgeRecord,
  type LiftbridgeIncomingEvent,
  type LiftbridgeRecordOptions,
} from './liftbridge-record.js';
