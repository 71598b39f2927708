// Shapes: an enum, an abstract class and two subclasses.
export enum Kind {
  Circle = 1,
  Rectangle,
}

export abstract class Shape {
  constructor(public readonly kind: Kind) {}
  abstract area(): number;
  get name(): string {
    return Kind[this.kind].toLowerCase();
  }
}

export class Circle extends Shape {
  constructor(private radius: number) {
    super(Kind.Circle);
  }
  area(): number {
    return Math.PI * this.radius * this.radius;
  }
}

export class Rectangle extends Shape {
  constructor(private width: number, private height: number) {
    super(Kind.Rectangle);
  }
  area(): number {
    return this.width * this.height;
  }
}

/** Never used: tree shaking drops it from the bundle. */
export function unusedHelper(): string {
  return "this text must not appear in the bundle";
}
