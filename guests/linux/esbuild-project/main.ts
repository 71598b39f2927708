// The entry point of the small TypeScript project esbuild bundles in Isomorph's tests.
import { Shape, Circle, Rectangle, Kind } from "./shapes";
import { Stack, largest, describe } from "./collections";

const shapes: Shape[] = [new Circle(2), new Rectangle(3, 4), new Circle(0.5), new Rectangle(10, 1)];

const stack = new Stack<Shape>();
for (const s of shapes) stack.push(s);

const biggest = largest(shapes, (s) => s.area());
console.log(`biggest: ${biggest ? describe(biggest) : "none"}`);

let circles = 0;
while (!stack.isEmpty()) {
  const s = stack.pop()!;
  if (s.kind === Kind.Circle) circles++;
  console.log(describe(s));
}
console.log(`circles: ${circles}, kinds: ${Object.keys(Kind).filter((k) => isNaN(Number(k))).join(",")}`);
