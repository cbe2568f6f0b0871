/**
 * A first-in first-out queue of waiting work that leaves in batches: the head and what may go
 * with it. Work that lost its place (its worker or thread failed) goes back to the front, and
 * work that is abandoned leaves from anywhere. Used by the coordinator for the candidates waiting
 * for a worker; a worker's device pool has the same needs for the evaluations waiting for a thread.
 */
export class BatchQueue<T> {
  private readonly items: T[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Puts items back at the front, in the order given, ahead of everything waiting. */
  requeue(items: readonly T[]): void {
    this.items.unshift(...items);
  }

  /** Takes an item out wherever it waits; false when it is not queued. */
  remove(item: T): boolean {
    const i = this.items.indexOf(item);
    if (i < 0) return false;
    this.items.splice(i, 1);
    return true;
  }

  /**
   * The head and up to `limit - 1` more that `fits(head, item)` accepts: from anywhere in the
   * queue, or with `contiguous` only those right behind the head. What stays keeps its order.
   */
  take(limit: number, fits: (head: T, item: T) => boolean, contiguous = false): T[] {
    const items = this.items;
    if (items.length === 0 || limit < 1) return [];
    const head = items[0];
    if (contiguous) {
      let n = 1;
      while (n < limit && n < items.length && fits(head, items[n])) n++;
      return items.splice(0, n);
    }
    const batch = [head];
    // items[0, kept) are those left behind, in order; items[i, end) are not looked at yet.
    let kept = 0;
    let i = 1;
    for (; i < items.length && batch.length < limit; i++) {
      if (fits(head, items[i])) batch.push(items[i]);
      else items[kept++] = items[i];
    }
    items.splice(kept, i - kept);
    return batch;
  }

  /** Empties the queue; returns what waited, in order. */
  drain(): T[] {
    return this.items.splice(0);
  }
}
