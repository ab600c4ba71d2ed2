import { expect } from 'chai';
import {
  CompiledQuery,
  sql,
  type Generated,
  type RootOperationNode,
} from 'kysely';
import { compileOnlyKysely } from '../../support/compile-only-kysely.js';
import { isReadOnlyQuery } from '../../../src/resilience/read-only-query.js';

interface Db {
  person: { id: Generated<number>; name: string };
  pet: { id: Generated<number>; owner_id: number; name: string };
}

const db = compileOnlyKysely<Db>();

const tree = (query: { compile(): CompiledQuery }): RootOperationNode => query.compile().query;

describe('isReadOnlyQuery', () => {
  it('accepts a plain selectFrom', () => {
    const query = tree(db.selectFrom('person').select(['id', 'name']).where('id', '=', 1));
    expect(query.kind).to.equal('SelectQueryNode');
    expect(isReadOnlyQuery(query)).to.equal(true);
  });

  it('accepts selects with joins, subqueries and selectNoFrom', () => {
    expect(
      isReadOnlyQuery(
        tree(
          db
            .selectFrom('person')
            .innerJoin('pet', 'pet.owner_id', 'person.id')
            .select(['person.id', 'pet.name'])
            .where('person.id', 'in', db.selectFrom('pet').select('owner_id')),
        ),
      ),
    ).to.equal(true);
    expect(isReadOnlyQuery(tree(db.selectNoFrom((eb) => eb.val(1).as('one'))))).to.equal(true);
  });

  it('accepts a select whose `with` CTE selects', () => {
    const query = tree(
      db
        .with('owners', (qb) => qb.selectFrom('pet').select('owner_id'))
        .selectFrom('owners')
        .selectAll(),
    );
    expect(isReadOnlyQuery(query)).to.equal(true);
  });

  it('rejects a select whose `with` CTE inserts', () => {
    const query = tree(
      db
        .with('added', (qb) => qb.insertInto('person').values({ name: 'Ada' }).returning('id'))
        .selectFrom('added')
        .selectAll(),
    );
    expect(query.kind).to.equal('SelectQueryNode');
    expect(isReadOnlyQuery(query)).to.equal(false);
  });

  it('rejects a select whose `with` CTE updates', () => {
    const query = tree(
      db
        .with('renamed', (qb) => qb.updateTable('person').set({ name: 'Grace' }).where('id', '=', 1).returning('id'))
        .selectFrom('renamed')
        .selectAll(),
    );
    expect(isReadOnlyQuery(query)).to.equal(false);
  });

  it('rejects a select whose `with` CTE deletes', () => {
    const query = tree(
      db
        .with('gone', (qb) => qb.deleteFrom('pet').where('owner_id', '=', 1).returning('id'))
        .selectFrom('gone')
        .selectAll(),
    );
    expect(isReadOnlyQuery(query)).to.equal(false);
  });

  it('rejects a write in a later CTE after a reading one', () => {
    const query = tree(
      db
        .with('owners', (qb) => qb.selectFrom('pet').select('owner_id'))
        .with('gone', (qb) => qb.deleteFrom('pet').returning('id'))
        .selectFrom('owners')
        .selectAll(),
    );
    expect(isReadOnlyQuery(query)).to.equal(false);
  });

  it('rejects insert, update, delete and merge', () => {
    const writes: RootOperationNode[] = [
      tree(db.insertInto('person').values({ name: 'Ada' })),
      tree(db.insertInto('person').columns(['name']).expression(db.selectFrom('pet').select('name'))),
      tree(db.updateTable('person').set({ name: 'Grace' }).where('id', '=', 1)),
      tree(db.deleteFrom('person').where('id', '=', 1)),
      tree(db.mergeInto('person').using('pet', 'pet.owner_id', 'person.id').whenMatched().thenDelete()),
    ];
    expect(writes.map((query) => query.kind)).to.deep.equal([
      'InsertQueryNode',
      'InsertQueryNode',
      'UpdateQueryNode',
      'DeleteQueryNode',
      'MergeQueryNode',
    ]);
    for (const query of writes) {
      expect(isReadOnlyQuery(query), query.kind).to.equal(false);
    }
  });

  it('never judges a select with raw SQL anywhere in it read-only (a raw with body, modifyEnd, a raw fragment)', () => {
    const rawCte = db
      .with('ins', () => sql`(insert into person (id) values (1) returning id)`)
      .selectFrom('ins' as 'person')
      .selectAll()
      .compile().query;
    expect(isReadOnlyQuery(rawCte)).to.equal(false);
    const tail = db.selectFrom('person').selectAll().modifyEnd(sql`; insert into person (id) values (2)`).compile().query;
    expect(isReadOnlyQuery(tail)).to.equal(false);
    const fragment = db.selectFrom('person').select(sql<number>`count(*)`.as('n')).compile().query;
    expect(isReadOnlyQuery(fragment)).to.equal(false);
  });

  it('never judges raw SQL read-only', () => {
    const raw = sql`select 1`.compile(db).query;
    expect(raw.kind).to.equal('RawNode');
    expect(isReadOnlyQuery(raw)).to.equal(false);
    const rawCompiled = CompiledQuery.raw('select * from person').query;
    expect(rawCompiled.kind).to.equal('RawNode');
    expect(isReadOnlyQuery(rawCompiled)).to.equal(false);
  });

  it('returns false for undefined', () => {
    expect(isReadOnlyQuery(undefined)).to.equal(false);
  });

  it('gives the same answer when the same tree is judged twice', () => {
    const read = tree(db.selectFrom('person').selectAll());
    const write = tree(
      db
        .with('added', (qb) => qb.insertInto('person').values({ name: 'Ada' }).returning('id'))
        .selectFrom('added')
        .selectAll(),
    );
    expect(isReadOnlyQuery(read)).to.equal(true);
    expect(isReadOnlyQuery(read)).to.equal(true);
    expect(isReadOnlyQuery(write)).to.equal(false);
    expect(isReadOnlyQuery(write)).to.equal(false);
    // and a compiled query re-run keeps its tree
    const compiled = db.selectFrom('pet').selectAll().compile();
    expect(isReadOnlyQuery(compiled.query)).to.equal(true);
    expect(isReadOnlyQuery(compiled.query)).to.equal(true);
  });
});
