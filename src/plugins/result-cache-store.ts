import { LRUCache } from 'lru-cache';

/** A value, or a promise of it: what the methods of a {@link ResultCacheStore} may return. */
export type MaybePromise<T> = T | Promise<T>;

/** One cached result as the result cache hands it to its store. */
export interface ResultCacheEntry {
  /** The rows, as the query returned them. The store keeps them as they are: nobody mutates them. */
  readonly rows: readonly unknown[];
  /**
   * Bare names (no schema) of the tables the read depends on: a write to any of them drops the
   * entry. `undefined` when they could not be determined (raw SQL in the query): then any write
   * drops it.
   */
  readonly tables: readonly string[] | undefined;
}

/**
 * Where the result cache keeps its entries. Every method may answer synchronously or with a
 * promise, so that a shared store (Redis…) can implement it; the default is the in-memory LRU of
 * {@link createMemoryResultCacheStore}.
 *
 * A store must never return an entry after `delete`, `deleteByTables` or `clear` covering it has
 * completed, nor after its time to live. A store shared by several processes is only invalidated by
 * the writes each process sees (see `docs/result-cache.md`).
 */
export interface ResultCacheStore {
  /** The rows stored under `key`, or `undefined` when there is none (or it expired). */
  get(key: string): MaybePromise<readonly unknown[] | undefined>;
  /** Stores `entry` under `key` for `ttlMs` milliseconds, replacing what was there. The store may refuse it (e.g. too large). */
  set(key: string, entry: ResultCacheEntry, ttlMs: number): MaybePromise<void>;
  /** Drops the entry under `key`; whether there was a live one. */
  delete(key: string): MaybePromise<boolean>;
  /**
   * Drops every entry that depends on one of `tables` (bare names), and every entry whose tables
   * are unknown. Returns how many live entries were dropped. An empty list drops nothing.
   */
  deleteByTables(tables: readonly string[]): MaybePromise<number>;
  /** Drops every entry; returns how many live entries were dropped. */
  clear(): MaybePromise<number>;
}

/** Options of {@link createMemoryResultCacheStore}. */
export interface MemoryResultCacheStoreOptions {
  /** Most entries kept; the least recently used go first. Default 1000. */
  readonly maxEntries?: number;
  /**
   * Most bytes kept, as estimated by {@link estimateRowsBytes} plus a fixed overhead per entry;
   * the least recently used go first. A single result larger than this is not stored at all.
   * Default 16 MiB.
   */
  readonly maxBytes?: number;
  /**
   * Called with the number of entries dropped for space or age: pushed out by the bounds,
   * refused because larger than `maxBytes`, or found expired (by a lookup, an invalidation or
   * `clear`). Entries dropped by `delete`, `deleteByTables` or `clear` while live are reported by
   * those methods' results instead. What it throws is ignored.
   */
  readonly onEvicted?: (count: number) => void;
}

/** The in-memory store, with its current occupancy. */
export interface MemoryResultCacheStore extends ResultCacheStore {
  /** Entries held, live or expired but not yet dropped. */
  readonly entries: number;
  /** Estimated bytes held by those entries. */
  readonly bytes: number;
}

/** Default of `maxEntries`. */
export const DEFAULT_MAX_ENTRIES = 1000;
/** Default of `maxBytes`: 16 MiB. */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/** Bytes charged per entry besides its rows: the key, the entry and its place in the indexes. */
const ENTRY_OVERHEAD_BYTES = 256;
/** Nesting beyond which values are charged a flat size instead of being walked. */
const MAX_SIZE_DEPTH = 32;

/**
 * A deliberately simple estimate of the JavaScript heap held by result rows, in bytes. It is an
 * estimate, not a measurement: it errs on the large side so that `maxBytes` bounds memory.
 *
 * - a string: 16 + 2 per UTF-16 code unit (V8 may store it in half of that);
 * - a number, boolean, `null` or `undefined`: 8; a bigint: 16 + 8 per 64 bits;
 * - a `Date`: 32; a `Buffer` or other binary view: 64 + its byte length;
 * - an array: 16 + 8 per element + its elements;
 * - an object (a row, a JSON value): 32 + per property 8 + the key's string + the value.
 *
 * Values nested deeper than 32 levels are charged 8 bytes each and not walked.
 */
export function estimateRowsBytes(rows: readonly unknown[]): number {
  return sizeOf(rows, 0);
}

function sizeOf(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return 16 + 2 * value.length;
    case 'bigint':
      return 16 + 8 * Math.ceil(value.toString(16).length / 16);
    case 'object':
      break;
    default:
      return 8;
  }
  if (value === null || depth >= MAX_SIZE_DEPTH) return 8;
  if (value instanceof Date) return 32;
  if (ArrayBuffer.isView(value)) return 64 + value.byteLength;
  if (value instanceof ArrayBuffer) return 64 + value.byteLength;
  if (Array.isArray(value)) {
    let total = 16 + 8 * value.length;
    for (const item of value) total += sizeOf(item, depth + 1);
    return total;
  }
  let total = 32;
  for (const key of Object.keys(value)) {
    total += 8 + 16 + 2 * key.length + sizeOf((value as Record<string, unknown>)[key], depth + 1);
  }
  return total;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

interface StoredEntry {
  readonly rows: readonly unknown[];
  readonly tables: readonly string[] | undefined;
}

/**
 * The default {@link ResultCacheStore}: an LRU (`lru-cache`) bounded by entries and by estimated
 * bytes, with per-entry time to live, and an index from table names to the keys that depend on
 * them so that `deleteByTables` costs what it drops. Entries whose tables are unknown sit in a
 * separate set that every `deleteByTables` empties. Everything is synchronous.
 *
 * Expired entries are dropped lazily (when looked up, pushed out, invalidated or cleared), without
 * timers. Throws `RangeError` for bounds that are not positive integers.
 */
export function createMemoryResultCacheStore(options: MemoryResultCacheStoreOptions = {}): MemoryResultCacheStore {
  const maxEntries = positiveInteger('maxEntries', options.maxEntries, DEFAULT_MAX_ENTRIES);
  const maxBytes = positiveInteger('maxBytes', options.maxBytes, DEFAULT_MAX_BYTES);
  const onEvicted = options.onEvicted;
  const byTable = new Map<string, Set<string>>();
  const anyTable = new Set<string>();

  const evicted = (count: number): void => {
    if (count <= 0 || onEvicted === undefined) return;
    try {
      onEvicted(count);
    } catch {
      // a counter must not break the cache
    }
  };

  const unindex = (key: string, entry: StoredEntry): void => {
    if (entry.tables === undefined) {
      anyTable.delete(key);
      return;
    }
    for (const table of entry.tables) {
      const keys = byTable.get(table);
      if (keys === undefined) continue;
      keys.delete(key);
      if (keys.size === 0) byTable.delete(table);
    }
  };

  const lru = new LRUCache<string, StoredEntry>({
    max: maxEntries,
    maxSize: maxBytes,
    dispose: (entry, key, reason) => {
      unindex(key, entry);
      if (reason === 'evict' || reason === 'expire') evicted(1);
    },
  });

  /** Deletes `key`; 1 if it was live, 0 otherwise (an expired one counts as evicted). */
  const drop = (key: string): number => {
    const live = lru.has(key);
    if (!lru.delete(key)) return 0;
    if (live) return 1;
    evicted(1);
    return 0;
  };

  return {
    get entries() {
      return lru.size;
    },
    get bytes() {
      return lru.calculatedSize;
    },
    get(key) {
      return lru.get(key)?.rows;
    },
    set(key, entry, ttlMs) {
      if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive number, got ${String(ttlMs)}`);
      // delete first, so that the old entry's index entries go before the new one's are added
      drop(key);
      const stored: StoredEntry = { rows: entry.rows, tables: entry.tables === undefined ? undefined : [...new Set(entry.tables)] };
      const size = ENTRY_OVERHEAD_BYTES + 2 * key.length + estimateRowsBytes(entry.rows);
      if (size > maxBytes) {
        evicted(1);
        return;
      }
      lru.set(key, stored, { ttl: Math.ceil(ttlMs), size });
      if (!lru.has(key)) return;
      if (stored.tables === undefined) {
        anyTable.add(key);
        return;
      }
      for (const table of stored.tables) {
        let keys = byTable.get(table);
        if (keys === undefined) {
          keys = new Set();
          byTable.set(table, keys);
        }
        keys.add(key);
      }
    },
    delete(key) {
      return drop(key) === 1;
    },
    deleteByTables(tables) {
      if (tables.length === 0) return 0;
      const keys = new Set(anyTable);
      for (const table of tables) {
        for (const key of byTable.get(table) ?? []) keys.add(key);
      }
      let dropped = 0;
      for (const key of keys) dropped += drop(key);
      return dropped;
    },
    clear() {
      let live = 0;
      for (const key of lru.keys()) if (key !== undefined) live += 1;
      const expired = lru.size - live;
      lru.clear();
      byTable.clear();
      anyTable.clear();
      evicted(expired);
      return live;
    },
  };
}
