/**
 * A JSON reader for untrusted signature payloads, stricter than JSON.parse:
 * duplicate keys and trailing data are errors (JSON.parse silently keeps the
 * last duplicate and would let two readers disagree on what was signed).
 */
export class StrictJsonError extends Error {}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** Parses exactly one JSON value; throws StrictJsonError on duplicates, trailing data or bad syntax. */
export function parseStrictJson(text: string, maxDepth = 16): JsonValue {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (what: string): never => {
    throw new StrictJsonError(`${what} at offset ${i}`);
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text.charCodeAt(i) < 0x20) fail('control character in string');
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid string escape');
    }
  };
  const value = (depth: number): JsonValue => {
    if (depth > maxDepth) fail('nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = Object.create(null) as { [k: string]: JsonValue };
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k)) fail(`duplicate key ${JSON.stringify(k)}`);
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr: JsonValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    const lit = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 64));
    if (!lit) return fail('unexpected character');
    i += lit[0].length;
    return JSON.parse(lit[0]) as JsonValue;
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail('trailing data after the JSON value');
  return v;
}

/**
 * Parses UTF-8 bytes as exactly one JSON value, as strictly as
 * parseStrictJson: invalid UTF-8 or a byte-order mark is an error, never a
 * silent U+FFFD (two readers would disagree on what was signed).
 */
export function parseStrictJsonBytes(bytes: Uint8Array, maxDepth = 16): JsonValue {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new StrictJsonError('not valid UTF-8');
  }
  if (text.charCodeAt(0) === 0xfeff) throw new StrictJsonError('a byte-order mark before the JSON value');
  return parseStrictJson(text, maxDepth);
}

/** parseStrictJsonBytes, with the refusal of the caller's choosing for bytes that are not strict JSON (`why` says what is wrong). */
export function readStrictJson(bytes: Uint8Array, refuse: (why: string) => Error): JsonValue {
  try {
    return parseStrictJsonBytes(bytes);
  } catch (e) {
    if (e instanceof StrictJsonError) throw refuse(e.message);
    throw e;
  }
}
