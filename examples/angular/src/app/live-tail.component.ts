/**
 * A live tail of one stream: every partition from the earliest offset, the newest rows first, the
 * offset each partition has reached, the rate, the client's status, and a form that publishes.
 * Everything on screen is a signal made from the SDK's Observables with `toSignal`, so the
 * Subscribe call lives exactly as long as the component (leaving the page aborts it).
 */
import { ChangeDetectionStrategy, Component, inject, signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { LIFTBRIDGE_CLIENT } from 'rx-liftbridge/angular';
import { type Message, StartAt } from 'rx-liftbridge/browser';
import { bufferTime, map, scan, share } from 'rxjs';

interface Row {
  readonly partition: number;
  readonly offset: string;
  readonly key: string;
  readonly value: string;
}

const SHOWN = 20;
const text = new TextDecoder();

@Component({
  selector: 'app-live-tail',
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    <h1>Liftbridge live tail: {{ stream }}</h1>
    <div class="bar">
      <span class="status" [class]="status()" data-testid="status">{{ status() }}</span>
      <span data-testid="rate">{{ rate() }} msg/s</span>
      <span data-testid="total">{{ total() }} received</span>
    </div>

    <form (submit)="publish($event, value.value, key.value); value.value = ''">
      <input #value name="value" placeholder="value" data-testid="value" required />
      <input #key name="key" placeholder="key (optional)" data-testid="key" />
      <button type="submit" data-testid="publish">Publish</button>
      @if (lastAck(); as ack) {
        <span data-testid="ack">stored at {{ ack }}</span>
      }
      @if (publishError(); as error) {
        <span data-testid="publish-error">{{ error }}</span>
      }
    </form>

    <table data-testid="partitions">
      <thead><tr><th>partition</th><th>leader</th><th>newest offset seen</th></tr></thead>
      <tbody>
        @for (p of partitions(); track p.id) {
          <tr><td>{{ p.id }}</td><td>{{ p.leader ?? '-' }}</td><td>{{ reached()[p.id] ?? '-' }}</td></tr>
        }
      </tbody>
    </table>

    <table data-testid="messages">
      <thead><tr><th>partition</th><th>offset</th><th>key</th><th>value</th></tr></thead>
      <tbody>
        @for (r of rows(); track r.partition + '/' + r.offset) {
          <tr class="message"><td>{{ r.partition }}</td><td>{{ r.offset }}</td><td>{{ r.key }}</td><td>{{ r.value }}</td></tr>
        }
      </tbody>
    </table>
  `,
})
export class LiveTailComponent {
  private readonly lift = inject(LIFTBRIDGE_CLIENT);
  readonly stream = new URLSearchParams(location.search).get('stream') ?? 'orders';

  private readonly messages$ = this.lift.subscribe(this.stream, { partitions: 'all', startAt: StartAt.earliest() }).pipe(share());

  readonly rows = toSignal(
    this.messages$.pipe(scan((rows: Row[], m: Message) => [toRow(m), ...rows].slice(0, SHOWN), [])),
    { initialValue: [] },
  );
  readonly reached = toSignal(
    this.messages$.pipe(scan((at: Partial<Record<number, string>>, m: Message) => ({ ...at, [m.partition]: m.offset.toString() }), {} as Partial<Record<number, string>>)),
    { initialValue: {} as Partial<Record<number, string>> },
  );
  readonly total = toSignal(this.messages$.pipe(scan((n: number) => n + 1, 0)), { initialValue: 0 });
  readonly rate = toSignal(this.messages$.pipe(bufferTime(1000), map((b) => b.length)), { initialValue: 0 });
  readonly status = toSignal(this.lift.status$.pipe(map((s) => s.type)), { initialValue: 'connecting' });
  readonly partitions = toSignal(
    this.lift.metadata$.pipe(map((m) => m.stream(this.stream)?.partitions.map((p) => ({ id: p.id, leader: p.leader })) ?? [])),
    { initialValue: [] },
  );

  readonly lastAck = signal<string | undefined>(undefined);
  readonly publishError = signal<string | undefined>(undefined);

  publish(event: Event, value: string, key: string): void {
    event.preventDefault();
    if (value === '') return;
    this.lift.publish(this.stream, value, key === '' ? {} : { key }).subscribe({
      next: (ack) => {
        this.publishError.set(undefined);
        this.lastAck.set('offset' in ack ? `${ack.stream}/${ack.partition}@${ack.offset}` : 'sent');
      },
      error: (error: Error) => this.publishError.set(error.message),
    });
  }
}

function toRow(m: Message): Row {
  return { partition: m.partition, offset: m.offset.toString(), key: text.decode(m.key), value: text.decode(m.value) };
}
