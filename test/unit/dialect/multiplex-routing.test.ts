import { expect } from 'chai';
import { CompiledQuery, sql } from 'kysely';
import {
  DEFAULT_MULTIPLEX_CONNECTIONS,
  DEFAULT_MULTIPLEX_MAX_IN_FLIGHT,
  DEFAULT_MULTIPLEX_ROTATE_AFTER_MS,
  DEFAULT_MULTIPLEX_SLOW_STATEMENT_MS,
  resolveMultiplexOptions,
} from '../../../src/dialect/multiplex/multiplex-options.js';
import { SlowStatements } from '../../../src/dialect/multiplex/slow-statements.js';
import { routeOf } from '../../../src/dialect/multiplex/statement-route.js';
import { compileOnlyKysely } from '../../support/compile-only-kysely.js';

interface Db {
  item: { id: number; label: string };
}

const db = compileOnlyKysely<Db>();

describe('multiplexing: statement routing', () => {
  it('shares the data statements Kysely builds', () => {
    expect(routeOf(db.selectFrom('item').selectAll().where('id', '=', 1).compile())).to.equal('shared');
    expect(routeOf(db.insertInto('item').values({ id: 1, label: 'a' }).returning('id').compile())).to.equal('shared');
    expect(routeOf(db.updateTable('item').set({ label: 'b' }).where('id', '=', 1).compile())).to.equal('shared');
    expect(routeOf(db.deleteFrom('item').where('id', '=', 1).compile())).to.equal('shared');
    expect(routeOf(db.with('x', (qb) => qb.selectFrom('item').select('id')).selectFrom('x').selectAll().compile())).to.equal('shared');
  });

  it('shares raw single data statements that leave no session state', () => {
    for (const text of ['select 1', 'SELECT now()', 'with x as (select 1) select * from x', 'insert into item values (1, $1)', 'values (1)', '  /* c */ select 2']) {
      expect(routeOf(CompiledQuery.raw(text)), text).to.equal('shared');
    }
  });

  it('keeps everything that may change or read the session exclusive', () => {
    const exclusive = [
      'set application_name = x',
      'reset all',
      'begin',
      'commit',
      'listen c',
      'notify c',
      'prepare p as select 1',
      'execute p',
      'deallocate all',
      'discard all',
      'declare c cursor for select 1',
      'copy item from stdin',
      'create table t (n int)',
      'create temp table t (n int)',
      'vacuum',
      'lock table item',
      'select pg_advisory_lock(1)',
      'select pg_try_advisory_lock(1)',
      'select pg_advisory_unlock_shared(1)',
      'select pg_advisory_unlock_all()',
      "select set_config('x.y', 'z', false)",
      "select currval('s')",
      'select lastval()',
      'select 1 into temp t',
      'select * into temporary t from item',
      'select * from pg_temp.t',
      'select 1; select 2',
      "select lo_open(1, 262144)",
      'select pg_export_snapshot()',
    ];
    for (const text of exclusive) expect(routeOf(CompiledQuery.raw(text)), text).to.equal('exclusive');
    expect(routeOf(sql`select pg_advisory_lock(${1})`.compile(db))).to.equal('exclusive');
    expect(routeOf(db.selectFrom('item').select(sql<number>`currval('s')`.as('v')).compile())).to.equal('exclusive');
  });

  it('shares transaction-scoped advisory locks, which end with their statement outside a transaction', () => {
    expect(routeOf(CompiledQuery.raw('select pg_try_advisory_xact_lock(1)'))).to.equal('shared');
  });
});

describe('multiplexing: options', () => {
  it('applies the defaults, keeping a connection for exclusive work on small pools', () => {
    expect(resolveMultiplexOptions({}, 10, 60_000)).to.deep.equal({
      connections: DEFAULT_MULTIPLEX_CONNECTIONS,
      maxInFlight: DEFAULT_MULTIPLEX_MAX_IN_FLIGHT,
      rotateAfterMs: DEFAULT_MULTIPLEX_ROTATE_AFTER_MS,
      slowStatementMs: DEFAULT_MULTIPLEX_SLOW_STATEMENT_MS,
    });
    expect(resolveMultiplexOptions({}, 3, 60_000).connections).to.equal(2);
    expect(resolveMultiplexOptions({}, 2, 60_000).connections).to.equal(1);
    expect(resolveMultiplexOptions({}, 1, 60_000).connections).to.equal(1);
    expect(resolveMultiplexOptions({}, 10, 20_000).rotateAfterMs).to.equal(10_000);
    expect(resolveMultiplexOptions({}, 10, 0).rotateAfterMs).to.equal(DEFAULT_MULTIPLEX_ROTATE_AFTER_MS);
    expect(Object.isFrozen(resolveMultiplexOptions({}, 10, 0))).to.equal(true);
  });

  it('names the field of a value out of range', () => {
    expect(() => resolveMultiplexOptions({ connections: 0 }, 10, 0)).to.throw(RangeError, 'multiplex.connections must be a positive integer, got 0');
    expect(() => resolveMultiplexOptions({ connections: 11 }, 10, 0)).to.throw(RangeError, "multiplex.connections (11) must not exceed the pool's maxConns (10)");
    expect(() => resolveMultiplexOptions({ maxInFlight: 2.5 }, 10, 0)).to.throw(RangeError, 'multiplex.maxInFlight must be a positive integer, got 2.5');
    expect(() => resolveMultiplexOptions({ rotateAfterMs: 40_000 }, 10, 60_000)).to.throw(RangeError, /multiplex\.rotateAfterMs \(40000\) must be at most half/);
    expect(() => resolveMultiplexOptions(null as never, 10, 0)).to.throw(TypeError, 'multiplex must be an options object, true, or false');
  });
});

describe('multiplexing: slow statements', () => {
  it('learns a text slow above the threshold and forgets it after a fast exclusive run', () => {
    const slow = new SlowStatements(20);
    expect(slow.noteShared('select a', 5)).to.equal(false);
    expect(slow.has('select a')).to.equal(false);
    expect(slow.noteShared('select a', 25)).to.equal(true);
    expect(slow.noteShared('select a', 25)).to.equal(false);
    expect(slow.has('select a')).to.equal(true);
    slow.noteExclusive('select a', 15);
    expect(slow.has('select a')).to.equal(true);
    slow.noteExclusive('select a', 9);
    expect(slow.has('select a')).to.equal(false);
  });

  it('is bounded: the oldest texts are forgotten first', () => {
    const slow = new SlowStatements(1);
    for (let i = 0; i < 1100; i += 1) slow.noteShared(`select ${i}`, 2);
    expect(slow.size).to.equal(1024);
    expect(slow.has('select 0')).to.equal(false);
    expect(slow.has('select 1099')).to.equal(true);
  });
});
