// Assertions that state what must hold. They throw only when an invariant is broken
// (a programming error), never for a business rejection: those are result codes.

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export function assertSafeInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new InvariantError(`${what} is not a safe integer: ${value}`);
}

export function unreachable(value: never, what: string): never {
  throw new InvariantError(`unreachable ${what}: ${String(value)}`);
}
