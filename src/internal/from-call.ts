/**
 * Bridges one unary gRPC call to a cold Observable: the call starts on subscribe and is
 * cancelled (its AbortSignal fires) on unsubscribe. Abort rejections are swallowed:
 * cancellation is not an error.
 *
 * Internal (not exported from the package root).
 */
import { Observable } from 'rxjs';

export function fromCall<T>(start: (signal: AbortSignal) => Promise<T>): Observable<T> {
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    let settled = false;
    start(controller.signal).then(
      (value) => {
        settled = true;
        subscriber.next(value);
        subscriber.complete();
      },
      (error: unknown) => {
        settled = true;
        if (!controller.signal.aborted) subscriber.error(error);
      },
    );
    return () => {
      if (!settled) controller.abort();
    };
  });
}
