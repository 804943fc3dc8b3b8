/** Small helpers for specs that watch how an Observable ends and what keeps the process alive. */
import type { Observable } from 'rxjs';

/** Subscribes and resolves with how the Observable ended and after how long. */
export function outcome(source: Observable<unknown>): Promise<{ ms: number; error: unknown; completed: boolean }> {
  const started = Date.now();
  return new Promise((resolve) => {
    source.subscribe({
      error: (error: unknown) => resolve({ ms: Date.now() - started, error, completed: false }),
      complete: () => resolve({ ms: Date.now() - started, error: undefined, completed: true }),
    });
  });
}

/** Kinds of resources Node reports as keeping the loop alive, by count. */
export function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}
