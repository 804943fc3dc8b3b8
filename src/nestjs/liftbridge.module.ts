/**
 * `LiftbridgeModule`: provides SDK clients to a NestJS application.
 */
import type { DynamicModule, FactoryProvider, InjectionToken, ModuleMetadata, OnApplicationShutdown, Provider } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { type ClientOptions, type ClientStatus, connect, InvalidArgumentError, LiftbridgeClient } from '../index.js';

/** The name of the client `forRoot()` provides when none is given. */
export const DEFAULT_LIFTBRIDGE_CLIENT_NAME = 'default';

/**
 * The injection token of a client: `@Inject(getLiftbridgeClientToken('audit'))`. The default
 * client is also injectable by its class, `LiftbridgeClient`.
 */
export function getLiftbridgeClientToken(name: string = DEFAULT_LIFTBRIDGE_CLIENT_NAME): string {
  return `rx-liftbridge:client:${name}`;
}

/** The injection token of a client's {@link LiftbridgeHealth}. */
export function getLiftbridgeHealthToken(name: string = DEFAULT_LIFTBRIDGE_CLIENT_NAME): string {
  return `rx-liftbridge:health:${name}`;
}

function optionsToken(name: string): string {
  return `rx-liftbridge:options:${name}`;
}

/** Options of {@link LiftbridgeModule.forRoot}: the SDK's client options plus the module's. */
export interface LiftbridgeModuleOptions extends ClientOptions {
  /** Name of the client, for several clients in one app. @defaultValue 'default' */
  name?: string;
  /** Make the client injectable in every module. @defaultValue true */
  isGlobal?: boolean;
}

/** Options of {@link LiftbridgeModule.forRootAsync}. */
export interface LiftbridgeModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Name of the client, for several clients in one app. @defaultValue 'default' */
  name?: string;
  /** Make the client injectable in every module. @defaultValue true */
  isGlobal?: boolean;
  /** Returns the client options; gets the providers named in `inject`. */
  useFactory: (...args: any[]) => ClientOptions | Promise<ClientOptions>;
  /** Providers passed to `useFactory`. */
  inject?: FactoryProvider['inject'];
}

/** A health summary of one client (for a readiness endpoint or a `@nestjs/terminus` indicator). */
export interface LiftbridgeHealthState {
  /** `'up'` unless every broker connection the client had is down or the client is closed. */
  status: 'up' | 'down';
  /** Addresses of the brokers the client is connected to now. */
  connected: string[];
  /** The client's latest status event. */
  last: ClientStatus;
}

/**
 * Follows a client's `status$` for health checks and closes the client when the application
 * shuts down (`app.close()`, or a signal with `app.enableShutdownHooks()`). Injectable with
 * `@Inject(getLiftbridgeHealthToken(name))`.
 */
export class LiftbridgeHealth implements OnApplicationShutdown {
  readonly #connected = new Set<string>();
  #last: ClientStatus = { type: 'idle' };
  #sub: Subscription | undefined;
  #client: LiftbridgeClient | undefined;

  /** @internal */
  constructor(private readonly options: ClientOptions) {}

  /** The client, created on first call (creating it does no I/O either). */
  get client(): LiftbridgeClient {
    if (this.#client === undefined) {
      this.#client = connect(this.options);
      this.#sub = this.#client.status$.subscribe((s) => {
        this.#last = s;
        if (s.type === 'connected') this.#connected.add(s.address);
        else if (s.type === 'disconnected' || s.type === 'reconnecting') this.#connected.delete((s as { address: string }).address);
        else if (s.type === 'closed') this.#connected.clear();
      });
    }
    return this.#client;
  }

  /** The client's health now. A client not used yet (`idle`) is `'up'`. */
  check(): LiftbridgeHealthState {
    const last = this.#last;
    const down = last.type === 'closed' || (this.#connected.size === 0 && (last.type === 'disconnected' || last.type === 'reconnecting'));
    return { status: down ? 'down' : 'up', connected: [...this.#connected], last };
  }

  /** Closes the client gracefully (outstanding acks and final commits are waited for). */
  async onApplicationShutdown(): Promise<void> {
    const c = this.#client;
    if (c === undefined) return;
    await c.close();
    this.#sub?.unsubscribe();
  }
}

function providers(name: string, optionsProvider: Provider, isDefault: boolean): Provider[] {
  const list: Provider[] = [
    optionsProvider,
    { provide: getLiftbridgeHealthToken(name), useFactory: (o: ClientOptions) => new LiftbridgeHealth(o), inject: [optionsToken(name)] },
    { provide: getLiftbridgeClientToken(name), useFactory: (h: LiftbridgeHealth) => h.client, inject: [getLiftbridgeHealthToken(name)] },
  ];
  if (isDefault) list.push({ provide: LiftbridgeClient, useExisting: getLiftbridgeClientToken(name) });
  return list;
}

function exportsOf(name: string, isDefault: boolean): InjectionToken[] {
  const out: InjectionToken[] = [getLiftbridgeClientToken(name), getLiftbridgeHealthToken(name)];
  if (isDefault) out.push(LiftbridgeClient);
  return out;
}

function checkName(name: unknown): string {
  if (name === undefined) return DEFAULT_LIFTBRIDGE_CLIENT_NAME;
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('options.name', 'expected a non-empty string');
  return name;
}

/**
 * Provides a Liftbridge client to a NestJS application: injectable by class (`LiftbridgeClient`,
 * the default client) and by token ({@link getLiftbridgeClientToken}), several named clients
 * possible, closed gracefully on application shutdown, its health through {@link LiftbridgeHealth}.
 *
 * @example
 * ```ts
 * @Module({ imports: [LiftbridgeModule.forRoot({ brokers: ['127.0.0.1:9292'] })] })
 * class AppModule {}
 *
 * class Orders {
 *   constructor(@Inject(LiftbridgeClient) private readonly lift: LiftbridgeClient) {}
 * }
 * ```
 */
export class LiftbridgeModule {
  /** Provides a client with these options (validated when the client is created, by `connect()`). */
  static forRoot(options: LiftbridgeModuleOptions): DynamicModule {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'expected an object');
    const { name: rawName, isGlobal, ...clientOptions } = options;
    const name = checkName(rawName);
    const isDefault = name === DEFAULT_LIFTBRIDGE_CLIENT_NAME;
    return {
      module: LiftbridgeModule,
      global: isGlobal ?? true,
      providers: providers(name, { provide: optionsToken(name), useValue: clientOptions }, isDefault),
      exports: exportsOf(name, isDefault),
    };
  }

  /** Provides a client whose options come from a factory (e.g. `ConfigService`). */
  static forRootAsync(options: LiftbridgeModuleAsyncOptions): DynamicModule {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', 'expected an object');
    if (typeof options.useFactory !== 'function') throw new InvalidArgumentError('options.useFactory', 'expected a function');
    const name = checkName(options.name);
    const isDefault = name === DEFAULT_LIFTBRIDGE_CLIENT_NAME;
    return {
      module: LiftbridgeModule,
      global: options.isGlobal ?? true,
      imports: options.imports ?? [],
      providers: providers(name, { provide: optionsToken(name), useFactory: options.useFactory, inject: options.inject ?? [] }, isDefault),
      exports: exportsOf(name, isDefault),
    };
  }
}
