// The few declarations of @angular/core (21.x) that src/angular uses, so the root type-check needs
// no Angular in node_modules. Not emitted: the published src/angular declarations import the real
// '@angular/core' of the user's app. Keep in step with Angular's own signatures.
declare module '@angular/core' {
  export class InjectionToken<T> {
    constructor(desc: string, options?: { providedIn?: 'root' | 'platform' | 'any' | null; factory?: () => T });
    protected _desc: string;
    readonly ɵprov: unknown;
  }
  export type EnvironmentProviders = { ɵbrand: 'EnvironmentProviders' };
  export type Provider = unknown;
  export function makeEnvironmentProviders(providers: Provider[]): EnvironmentProviders;
  export abstract class DestroyRef {
    abstract onDestroy(callback: () => void): () => void;
  }
  export function inject<T>(token: InjectionToken<T> | (abstract new (...args: never[]) => T)): T;
}
