// Generic helpers over the shapes.
import type { Shape } from "./shapes";

export class Stack<T> {
  private items: T[] = [];
  push(item: T): void {
    this.items.push(item);
  }
  pop(): T | undefined {
    return this.items.pop();
  }
  isEmpty(): boolean {
    return this.items.length === 0;
  }
}

export function largest<T>(items: readonly T[], measure: (item: T) => number): T | undefined {
  let best: T | undefined;
  let bestValue = -Infinity;
  for (const item of items) {
    const value = measure(item);
    if (value > bestValue) {
      best = item;
      bestValue = value;
    }
  }
  return best;
}

export const describe = (s: Shape): string => `${s.name} with area ${s.area().toFixed(2)}`;
