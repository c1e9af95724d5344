/**
 * A binary min-heap over an array, ordered by a `less` function that reads live state. The
 * scheduler only ever changes the top's key (a task lands on the best node, which makes it
 * worse) or removes the top (the node is full), so it needs no decrease-key or removal in the
 * middle: `topIncreased` and `pop` are each O(log n).
 */
export class MinHeap<T> {
  private readonly items: T[];
  private readonly less: (a: T, b: T) => boolean;

  /** Takes ownership of `items` and orders them in place, O(n). */
  constructor(items: T[], less: (a: T, b: T) => boolean) {
    this.items = items;
    this.less = less;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.down(0);
    }
    return top;
  }

  /** The top's key grew: sink it to its place. */
  topIncreased(): void {
    if (this.items.length > 1) this.down(0);
  }

  private down(start: number): void {
    const items = this.items;
    const size = items.length;
    const moving = items[start]!;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= size) break;
      const right = left + 1;
      let child = left;
      if (right < size && this.less(items[right]!, items[left]!)) child = right;
      if (!this.less(items[child]!, moving)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = moving;
  }
}
