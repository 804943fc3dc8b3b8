/**
 * rx-liftbridge for Angular (21.x): `provideLiftbridge(options)` makes one
 * {@link LiftbridgeWebClient} per environment injector (gRPC-web, through a proxy in front of
 * Liftbridge), injectable as `inject(LiftbridgeWebClient)` or `inject(LIFTBRIDGE_CLIENT)`, and closed
 * when that injector is destroyed. Its Observables work with the `async` pipe and `toSignal`; the
 * client starts no timers of its own until something subscribes, so it suits zoneless apps.
 *
 * Loads `@angular/core` (an optional peer dependency); nothing else of the package does.
 *
 * @packageDocumentation
 */
import { DestroyRef, type EnvironmentProviders, InjectionToken, inject, makeEnvironmentProviders } from '@angular/core';
import { connectWeb, LiftbridgeWebClient } from '../browser/web-client.js';
import type { WebClientOptions } from '../browser/web-types.js';

export { LiftbridgeWebClient } from '../browser/web-client.js';
export type { WebClientOptions } from '../browser/web-types.js';

/** The client of the nearest `provideLiftbridge()`; the same instance as `inject(LiftbridgeWebClient)`. */
export const LIFTBRIDGE_CLIENT: InjectionToken<LiftbridgeWebClient> = new InjectionToken<LiftbridgeWebClient>('rx-liftbridge LIFTBRIDGE_CLIENT');

/** The options given to `provideLiftbridge()`. */
export const LIFTBRIDGE_OPTIONS: InjectionToken<WebClientOptions> = new InjectionToken<WebClientOptions>('rx-liftbridge LIFTBRIDGE_OPTIONS');

/**
 * Providers for `bootstrapApplication(App, { providers: [provideLiftbridge({ url })] })` or a
 * route's `providers`. The client is created lazily (on first injection) by `connectWeb(options)`,
 * which validates the options and throws `InvalidArgumentError` naming the field; it is closed with
 * the environment injector that created it (`DestroyRef.onDestroy`), which cancels its streams.
 *
 * @param options - what `connectWeb()` takes (`url` of the gRPC-web proxy, timeouts, prefetch…).
 */
export function provideLiftbridge(options: WebClientOptions): EnvironmentProviders {
  return makeEnvironmentProviders([
    { provide: LIFTBRIDGE_OPTIONS, useValue: options },
    {
      provide: LIFTBRIDGE_CLIENT,
      useFactory: () => {
        const client = connectWeb(inject(LIFTBRIDGE_OPTIONS));
        inject(DestroyRef).onDestroy(() => client.close());
        return client;
      },
    },
    { provide: LiftbridgeWebClient, useExisting: LIFTBRIDGE_CLIENT },
  ]);
}
