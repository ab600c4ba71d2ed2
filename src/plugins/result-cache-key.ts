import { createHash } from 'node:crypto';

/**
 * Cache keys of the result cache: a stable, injective serialization of a compiled query's SQL and
 * parameter values, and its SHA-256 digest.
 *
 * The serialization distinguishes everything that can change what the server is sent or how it
 * reads it, and a little more (it is safe for two equal inputs to get different keys, never for two
 * different inputs to share one):
 *
 * - every value carries its type: `1`, `'1'`, `1n`, `true`, `null` and `undefined` all differ;
 * - numbers are written in full (`String(n)` round-trips a double exactly), with `-0`, `NaN` and
 *   the infinities apart;
 * - strings are length-prefixed, so no content can forge a boundary;
 * - `Date`s by their instant (`getTime()`; an invalid date is its own value);
 * - `Buffer`s and other binary views by their bytes and their kind (`Buffer` vs `Uint8Array`…);
 * - arrays element by element; plain objects (JSON parameters) key by key **in insertion order**,
 *   the order `JSON.stringify` sends them in (`{a,b}` and `{b,a}` are different `json` values).
 *
 * Anything else (functions, symbols, class instances such as `Map` or objects with `toPostgres`,
 * cyclic or absurdly deep structures) has no stable serialization: the query is then not cacheable
 * and the key functions return `undefined`.
 *
 * @module
 */

/** Deepest nesting of arrays and objects serialized; deeper values make the query uncacheable. */
const MAX_DEPTH = 64;

/** Version tag of the serialization, part of every key: a change of format never reuses old keys. */
const FORMAT = 'rc1';

/** Thrown inside the serializer for a value it cannot serialize; never escapes this module. */
class Uncacheable {}

const UNCACHEABLE = new Uncacheable();

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function bytesOf(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('hex');
}

function text(value: string): string {
  return `s${value.length}:${value}`;
}

function write(value: unknown, out: string[], depth: number, path: object[]): void {
  switch (typeof value) {
    case 'string':
      out.push(text(value));
      return;
    case 'number':
      out.push(`d${Object.is(value, -0) ? '-0' : String(value)};`);
      return;
    case 'bigint':
      out.push(`b${value.toString()};`);
      return;
    case 'boolean':
      out.push(value ? 't' : 'f');
      return;
    case 'undefined':
      out.push('u');
      return;
    case 'object':
      break;
    default:
      // function, symbol
      throw UNCACHEABLE;
  }
  if (value === null) {
    out.push('n');
    return;
  }
  if (depth >= MAX_DEPTH || path.includes(value)) throw UNCACHEABLE;
  if (value instanceof Date) {
    const time = value.getTime();
    out.push(`D${Number.isNaN(time) ? 'invalid' : String(time)};`);
    return;
  }
  if (Buffer.isBuffer(value)) {
    out.push(`B${value.byteLength}:${value.toString('hex')}`);
    return;
  }
  if (ArrayBuffer.isView(value)) {
    out.push(`V${text(value.constructor.name)}${value.byteLength}:${bytesOf(value)}`);
    return;
  }
  if (value instanceof ArrayBuffer) {
    out.push(`A${value.byteLength}:${Buffer.from(value).toString('hex')}`);
    return;
  }
  path.push(value);
  if (Array.isArray(value)) {
    out.push(`[${value.length}:`);
    for (const item of value) write(item, out, depth + 1, path);
    out.push(']');
  } else if (isPlainObject(value)) {
    const keys = Object.keys(value);
    out.push(`{${keys.length}:`);
    for (const key of keys) {
      out.push(text(key));
      write((value as Record<string, unknown>)[key], out, depth + 1, path);
    }
    out.push('}');
  } else {
    throw UNCACHEABLE;
  }
  path.pop();
}

/**
 * The full serialization of a query's SQL text and parameter values (see the module notes), or
 * `undefined` when a parameter has no stable serialization (the query is then not cacheable).
 * Equal inputs always give the same string; different SQL, or parameters that differ in value or
 * type, never do.
 */
export function serializeQueryKey(sql: string, parameters: readonly unknown[]): string | undefined {
  const out: string[] = [FORMAT, text(sql)];
  try {
    write(parameters, out, 0, []);
  } catch (error) {
    if (error === UNCACHEABLE) return undefined;
    throw error;
  }
  return out.join('');
}

/**
 * The cache key of a query: `rc1:` followed by the base64url SHA-256 of
 * {@link serializeQueryKey}, a fixed 47 characters however large the SQL and the parameters are,
 * fit for a shared store. `undefined` when the query is not cacheable.
 */
export function queryCacheKey(sql: string, parameters: readonly unknown[]): string | undefined {
  const serialized = serializeQueryKey(sql, parameters);
  if (serialized === undefined) return undefined;
  return `${FORMAT}:${createHash('sha256').update(serialized).digest('base64url')}`;
}
