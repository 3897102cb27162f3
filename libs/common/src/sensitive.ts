const SECRET = Symbol('secret');

/**
 * A value that must never be logged or serialized: passphrases, registry
 * passwords, tokens. `String()`, template literals, `JSON.stringify` and
 * `util.inspect` all print a placeholder; `reveal()` is the one way out.
 */
export class Sensitive<T = string> {
  private readonly [SECRET]: T;
  constructor(value: T) {
    this[SECRET] = value;
  }
  reveal(): T {
    return this[SECRET];
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'Sensitive([redacted])';
  }
}
