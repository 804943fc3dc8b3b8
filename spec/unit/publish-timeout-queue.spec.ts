import { describe, expect, it } from 'vitest';
import { TimeoutQueue } from '../../src/publish/timeout-queue.js';

class Item {
  gen = 1;
  done = false;
  constructor(readonly id: number) {}
  isWaiting(g: number): boolean {
    return !this.done && this.gen === g;
  }
}

describe('TimeoutQueue (one FIFO, one timer)', () => {
  it('expires waiting items in deadline order and skips settled or resent ones', () => {
    const q = new TimeoutQueue<Item>();
    const items = [0, 1, 2, 3].map((i) => new Item(i));
    items.forEach((it, i) => q.push(it, 1, 100 + i * 10));
    items[1]!.done = true;
    items[2]!.gen = 2; // resent: its old deadline no longer counts
    expect(q.nextDeadline()).toBe(100);
    expect(q.expire(99)).toEqual([]);
    expect(q.expire(125).map((i) => i.id)).toEqual([0]);
    expect(q.nextDeadline()).toBe(130);
    expect(q.expire(1000).map((i) => i.id)).toEqual([3]);
    expect(q.length).toBe(0);
    expect(q.nextDeadline()).toBeUndefined();
  });

  it('trims settled heads eagerly, so it holds about as many items as are in flight', () => {
    const q = new TimeoutQueue<Item>();
    for (let i = 0; i < 10_000; i++) {
      const it = new Item(i);
      q.push(it, 1, i);
      it.done = true;
      q.trim();
    }
    expect(q.length).toBe(0);
  });
});
