/**
 * How feature functions name "a client" without depending on the facade (client.ts).
 */
import type { Observable } from 'rxjs';
import type { ClientStatus } from '../status.js';

/**
 * A client made by `connect()` ({@link LiftbridgeClient} is one), as taken by the functions that
 * work on a client: `publish(lift, ...)`, `publishTo(lift, ...)`, `commit(lift, ...)`,
 * `cursorStore(lift, ...)`. Only objects returned by `connect()` are accepted: any other object
 * makes the call fail with an `InvalidArgumentError` naming `client`.
 */
export interface ClientRef {
  /** See {@link LiftbridgeClient.status$}. */
  readonly status$: Observable<ClientStatus>;
}
