import { expect } from 'chai';
import type { Generated } from 'kysely';
import { compileOnlyKysely } from '../../support/compile-only-kysely.js';
import { queryCacheKey, serializeQueryKey } from '../../../src/plugins/result-cache-key.js';

interface Db {
  alert: { id: Generated<number>; fingerprint: string; payload: unknown };
}

const db = compileOnlyKysely<Db>();

const SQL = 'select * from "alert" where "id" = $1';

function key(...parameters: unknown[]): string | undefined {
  return serializeQueryKey(SQL, parameters);
}

/** Asserts that every value gets a key and that all the keys differ. */
function expectAllDistinct(values: readonly unknown[]): void {
  const keys = values.map((value) => key(value));
  for (const [index, k] of keys.entries()) expect(k, `value #${index}`).to.be.a('string');
  expect(new Set(keys).size).to.equal(values.length);
}

describe('result cache: key serialization', () => {
  it('is stable: equal inputs, built separately, give the same key', () => {
    const build = (): unknown[] => [
      'x',
      42,
      10n,
      true,
      null,
      undefined,
      new Date(1_700_000_000_000),
      Buffer.from('abc'),
      [1, ['a', null]],
      { a: 1, b: { c: [true] } },
    ];
    expect(serializeQueryKey(SQL, build())).to.equal(serializeQueryKey(SQL, build()));
    expect(queryCacheKey(SQL, build())).to.equal(queryCacheKey(SQL, build()));
  });

  it('distinguishes the SQL text', () => {
    expect(serializeQueryKey('select 1', [])).to.not.equal(serializeQueryKey('select 2', []));
    expect(serializeQueryKey('select 1', [])).to.not.equal(serializeQueryKey('select 1 ', []));
  });

  it('distinguishes types: 1, "1", 1n, true, null, undefined and a Date all differ', () => {
    expectAllDistinct([1, '1', 1n, true, 'true', null, 'null', undefined, '', 0, false, new Date(1), [1], { 1: 1 }]);
  });

  it('distinguishes numbers exactly, with -0, NaN and the infinities apart', () => {
    expectAllDistinct([0, -0, NaN, Infinity, -Infinity, 0.1, 0.1 + 0.2, 0.30000000000000004 + Number.EPSILON, 2 ** 53, 2 ** 53 + 2]);
    expect(key(0.1 + 0.2)).to.equal(key(0.30000000000000004));
  });

  it('distinguishes bigints from numbers and from each other', () => {
    expectAllDistinct([2n ** 64n, 2 ** 64, -1n, 1n, 9007199254740993n, '9007199254740993']);
  });

  it('keys Dates by their instant, apart from strings and numbers', () => {
    const instant = 1_700_000_000_123;
    expect(key(new Date(instant))).to.equal(key(new Date(instant)));
    expectAllDistinct([new Date(instant), new Date(instant + 1), instant, new Date(instant).toISOString(), new Date(Number.NaN), 'invalid']);
  });

  it('keys binary values by their bytes and kind', () => {
    expect(key(Buffer.from([1, 2, 3]))).to.equal(key(Buffer.from([1, 2, 3])));
    expectAllDistinct([
      Buffer.from([1, 2, 3]),
      Buffer.from([1, 2, 4]),
      Buffer.from([1, 2]),
      new Uint8Array([1, 2, 3]),
      new Int8Array([1, 2, 3]),
      new Uint8Array([1, 2, 3]).buffer,
      '010203',
      [1, 2, 3],
    ]);
    // a view of part of a buffer: only its own bytes count
    const big = Buffer.from([9, 1, 2, 3, 9]);
    expect(key(big.subarray(1, 4))).to.equal(key(Buffer.from([1, 2, 3])));
  });

  it('cannot be forged across string or array boundaries', () => {
    expect(serializeQueryKey(SQL, ['a', 'b'])).to.not.equal(serializeQueryKey(SQL, ['ab']));
    expect(serializeQueryKey(SQL, ['a', 'b'])).to.not.equal(serializeQueryKey(SQL, ['a', '', 'b']));
    expect(serializeQueryKey(SQL, ['s1:a'])).to.not.equal(serializeQueryKey(SQL, ['a']));
    expect(serializeQueryKey('select $1', ['x'])).to.not.equal(serializeQueryKey('select $1s1:x', []));
    expect(serializeQueryKey(SQL, [[1, 2], 3])).to.not.equal(serializeQueryKey(SQL, [[1], 2, 3]));
    expect(serializeQueryKey(SQL, [[1, [2]]])).to.not.equal(serializeQueryKey(SQL, [[1, 2]]));
    expect(serializeQueryKey(SQL, [1, 2])).to.not.equal(serializeQueryKey(SQL, [12]));
  });

  it('keys JSON objects by their keys, values and key order (the order JSON.stringify sends)', () => {
    expect(key({ a: 1, b: [2] })).to.equal(key({ a: 1, b: [2] }));
    expectAllDistinct([{ a: 1, b: 2 }, { b: 2, a: 1 }, { a: '1', b: 2 }, { a: 1 }, { a: 1, b: 2, c: undefined }, {}, []]);
    const bare = Object.create(null) as Record<string, unknown>;
    bare.a = 1;
    expect(key(bare)).to.equal(key({ a: 1 }));
  });

  it('returns undefined for values without a stable serialization', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 100; i += 1) deep = [deep];
    for (const value of [() => 1, Symbol('s'), new Map([[1, 2]]), new Set([1]), new Point(1, 2), { toPostgres: () => 'x' }, cyclic, deep, [1, () => 2]]) {
      expect(key(value)).to.equal(undefined);
      expect(queryCacheKey(SQL, [value])).to.equal(undefined);
    }
  });

  it('accepts the same value twice in one query (shared, not cyclic)', () => {
    const shared = { a: 1 };
    expect(key([shared, shared])).to.equal(key([{ a: 1 }, { a: 1 }]));
  });

  it('hashes to a fixed-size key with a version prefix', () => {
    const k = queryCacheKey(SQL, [1]);
    expect(k).to.match(/^rc1:[A-Za-z0-9_-]{43}$/);
    expect(queryCacheKey('x'.repeat(100_000), ['y'.repeat(100_000)])).to.have.length(k?.length ?? -1);
    expect(queryCacheKey(SQL, [1])).to.not.equal(queryCacheKey(SQL, ['1']));
  });

  it('tells compiled Kysely queries apart by parameter type', () => {
    const compiled = (value: unknown) => db.selectFrom('alert').selectAll().where('id', '=', value as number).compile();
    const one = compiled(1);
    const oneText = compiled('1');
    expect(one.sql).to.equal(oneText.sql);
    expect(queryCacheKey(one.sql, one.parameters)).to.not.equal(queryCacheKey(oneText.sql, oneText.parameters));
    const again = compiled(1);
    expect(queryCacheKey(one.sql, one.parameters)).to.equal(queryCacheKey(again.sql, again.parameters));
  });
});
