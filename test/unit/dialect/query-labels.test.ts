import { expect } from 'chai';
import {
  sql,
  type CompiledQuery,
  type Generated,
} from 'kysely';
import { compileOnlyKysely } from '../../support/compile-only-kysely.js';
import { operationOf } from '../../../src/dialect/query-operation.js';
import { MAX_QUERY_TABLES, tablesOf } from '../../../src/dialect/query-tables.js';
import { leadingStatementKeyword } from '../../../src/dialect/sql-keyword.js';

interface Db {
  person: { id: Generated<number>; name: string };
  pet: { id: Generated<number>; owner_id: number };
  toy: { id: Generated<number>; pet_id: number };
}

const db = compileOnlyKysely<Db>();

const label = (compiled: CompiledQuery): [string, readonly string[]] => [operationOf(compiled.query, compiled.sql), tablesOf(compiled.query)];

describe('dialect: operation and table labels', () => {
  it('labels builder queries from the query tree', () => {
    expect(label(db.selectFrom('person as p').innerJoin('pet', 'pet.owner_id', 'p.id').select('p.id').compile())).to.deep.equal([
      'select',
      ['person', 'pet'],
    ]);
    expect(label(db.insertInto('pet').values({ owner_id: 1 }).compile())).to.deep.equal(['insert', ['pet']]);
    expect(label(db.updateTable('pet').set({ owner_id: 2 }).from('person').whereRef('pet.owner_id', '=', 'person.id').compile())).to.deep.equal([
      'update',
      ['pet', 'person'],
    ]);
    expect(label(db.deleteFrom('toy').using('pet').whereRef('toy.pet_id', '=', 'pet.id').compile())).to.deep.equal(['delete', ['toy', 'pet']]);
    expect(
      label(
        db
          .mergeInto('pet as t')
          .using('toy', 'toy.pet_id', 't.id')
          .whenMatched()
          .thenDelete()
          .compile(),
      ),
    ).to.deep.equal(['merge', ['pet', 'toy']]);
    expect(label(db.schema.createTable('audit').addColumn('id', 'integer').compile())).to.deep.equal(['ddl', ['audit']]);
    expect(label(db.schema.withSchema('archive').dropTable('audit').compile())).to.deep.equal(['ddl', ['archive.audit']]);
    expect(label(db.schema.createIndex('pet_owner').on('pet').column('owner_id').compile())).to.deep.equal(['ddl', ['pet']]);
  });

  it('does not look into subqueries, and names a schema-qualified table with its schema', () => {
    const compiled = db
      .withSchema('public')
      .selectFrom('person')
      .where('id', 'in', (eb) => eb.selectFrom('pet').select('owner_id'))
      .select('id')
      .compile();
    expect(tablesOf(compiled.query)).to.deep.equal(['public.person']);
  });

  it('bounds the number of tables', () => {
    const names = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const compiled = db
      .selectFrom(names as unknown as ['person'])
      .select(sql`1`.as('one'))
      .compile();
    expect(tablesOf(compiled.query)).to.deep.equal(names.slice(0, MAX_QUERY_TABLES));
    const repeated = db.selectFrom('person').crossJoin('pet as a').crossJoin('pet as b').select('person.id').compile();
    expect(tablesOf(repeated.query)).to.deep.equal(['person', 'pet']);
  });

  it('labels raw SQL from its leading keyword', () => {
    const raw = (text: string): string => {
      const compiled = sql.raw(text).compile(db);
      return operationOf(compiled.query, compiled.sql);
    };
    expect(raw('SELECT 1')).to.equal('select');
    expect(raw('  -- comment\n /* block /* nested */ */ (select 1) union (select 2)')).to.equal('select');
    expect(raw('insert into t values (1)')).to.equal('insert');
    expect(raw('with x as (select 1), y(a) as materialized (select "update" from t) update t set a = 1')).to.equal('update');
    expect(raw("with recursive r as (select 'delete' union all select 1) delete from t")).to.equal('delete');
    expect(raw('with x as (insert into t values (1) returning *) select * from x')).to.equal('select');
    expect(raw('truncate t')).to.equal('ddl');
    expect(raw('alter table t add column c int')).to.equal('ddl');
    expect(raw('begin')).to.equal('other');
    expect(raw('explain select 1')).to.equal('other');
    expect(raw('')).to.equal('other');
  });

  it('skips quoted text and dollar quotes when looking for the main statement', () => {
    expect(leadingStatementKeyword("with x as (select $$ ) select $$, ') delete' ) insert into t select * from x")).to.equal('insert');
    expect(leadingStatementKeyword('with x as (select $tag$ ) $x$ $tag$) merge into t using x on true when matched then delete')).to.equal(
      'merge',
    );
    expect(leadingStatementKeyword('with unfinished as (')).to.equal('with');
  });
});
