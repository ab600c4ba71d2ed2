import { expect } from 'chai';
import {
  DeleteResult,
  InsertResult,
  NoResultError,
  sql,
  UpdateResult,
  type Generated,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import { precompile, type ParameterFunction } from '../../../src/dialect/precompiled-query.js';
import { AlertHistoryDbError } from '../../../src/errors/alert-history-db-error.js';
import { PrecompiledParameterError, type PrecompiledParameterProblem } from '../../../src/errors/precompiled-parameter-error.js';
import { compileOnlyKysely } from '../../support/compile-only-kysely.js';
import { failureOf, thrownBy } from '../../support/failure.js';

interface Db {
  person: { id: Generated<number>; name: string; age: number | null; tags: string[] | null };
}

/** True when `A` and `B` are the same type (a compile-time check). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

const db = compileOnlyKysely<Db>();

function expectParameterError(error: unknown, problem: PrecompiledParameterProblem, parameter: string): void {
  expect(error).to.be.instanceOf(PrecompiledParameterError);
  expect(error).to.be.instanceOf(AlertHistoryDbError);
  const typed = error as PrecompiledParameterError;
  expect(typed.problem).to.equal(problem);
  expect(typed.parameter).to.equal(parameter);
  expect(typed.kind).to.equal('programming');
  expect(typed.code).to.equal('PRECOMPILED_PARAMETER');
  expect(typed.retryable).to.equal(false);
  expect(typed.name).to.equal('PrecompiledParameterError');
  expect(typed.message).to.include(JSON.stringify(parameter));
}

describe('dialect: precompiled queries', () => {
  const byNameAndAge = precompile<{ name: string; age: number }>()(db, (db, param) =>
    db
      .selectFrom('person')
      .select(['id', 'name'])
      .where('name', '=', param('name'))
      .where('id', '<>', 7)
      .where((eb) => eb.or([eb('age', '=', param('age')), eb('age', '>', param('age'))])),
  );

  it('compiles once to the SQL of the builder, with the names in bind order', () => {
    const built = db
      .selectFrom('person')
      .select(['id', 'name'])
      .where('name', '=', 'x')
      .where('id', '<>', 7)
      .where((eb) => eb.or([eb('age', '=', 1), eb('age', '>', 1)]))
      .compile();
    expect(byNameAndAge.sql).to.equal(built.sql);
    expect(byNameAndAge.sql).to.equal('select "id", "name" from "person" where "name" = $1 and "id" <> $2 and ("age" = $3 or "age" > $4)');
    expect(byNameAndAge.parameterNames).to.deep.equal(['name', 'age']);
    expect(Object.isFrozen(byNameAndAge.parameterNames)).to.equal(true);
  });

  it('puts every value at each of its positions and keeps the builder’s own values', () => {
    const compiled = byNameAndAge.compile({ name: 'Ada', age: 36 });
    expect(compiled.parameters).to.deep.equal(['Ada', 7, 36, 36]);
    expect(compiled.sql).to.equal(byNameAndAge.sql);
    expect(compiled.query.kind).to.equal('SelectQueryNode');
    expect(byNameAndAge.compile({ age: 1, name: 'Bob' }).parameters).to.deep.equal(['Bob', 7, 1, 1]);
  });

  it('makes a new compiled query per execution: fresh query id and parameters, the same tree', () => {
    const first = byNameAndAge.compile({ name: 'a', age: 1 });
    const second = byNameAndAge.compile({ name: 'b', age: 2 });
    expect(first.queryId.queryId).to.be.a('string').with.length.greaterThan(0);
    expect(first.queryId.queryId).to.not.equal(second.queryId.queryId);
    expect(first.parameters).to.not.equal(second.parameters);
    expect(first.query).to.equal(second.query);
    expect(first.parameters).to.deep.equal(['a', 7, 1, 1]);
    expect(Object.isFrozen(first)).to.equal(true);
  });

  it('passes null through (SQL NULL), and objects and arrays as one value', () => {
    const byTags = precompile<{ tags: string[] | null; age: number | null }>()(db, (db, param) =>
      db.updateTable('person').set({ tags: param('tags'), age: param('age') }).where('id', '=', 1),
    );
    expect(byTags.sql).to.equal('update "person" set "tags" = $1, "age" = $2 where "id" = $3');
    expect(byTags.compile({ tags: ['a', 'b'], age: null }).parameters).to.deep.equal([['a', 'b'], null, 1]);
  });

  it('binds a list as one array (= any), and `in` only as a fixed list of markers', () => {
    const anyOf = precompile<{ ids: number[] }>()(db, (db, param) =>
      db.selectFrom('person').select('id').where('id', '=', (eb) => eb.fn.any(eb.val(param('ids')))),
    );
    expect(anyOf.sql).to.equal('select "id" from "person" where "id" = any($1)');
    expect(anyOf.compile({ ids: [1, 2, 3] }).parameters).to.deep.equal([[1, 2, 3]]);
    const pair = precompile<{ a: number; b: number }>()(db, (db, param) => db.selectFrom('person').select('id').where('id', 'in', [param('a'), param('b')]));
    expect(pair.sql).to.equal('select "id" from "person" where "id" in ($1, $2)');
    // type-checks, but is no valid SQL: the documented trap
    const trap = precompile<{ ids: number[] }>()(db, (db, param) => db.selectFrom('person').select('id').where('id', 'in', param('ids')));
    expect(trap.sql).to.equal('select "id" from "person" where "id" in $1');
  });

  it('refuses a missing, an unknown and an undefined parameter, naming it but not the value', () => {
    const values = { name: 'secret-value', age: 3 };
    expectParameterError(
      thrownBy(() => byNameAndAge.compile({ name: 'secret-value' } as typeof values)),
      'missing',
      'age',
    );
    const extra = { ...values, nickname: 'secret-value' };
    const unknownError = thrownBy(() => byNameAndAge.compile(extra));
    expectParameterError(unknownError, 'unknown', 'nickname');
    expect((unknownError as Error).message).to.not.include('secret-value');
    expectParameterError(
      thrownBy(() => byNameAndAge.compile({ name: 'secret-value', age: undefined } as unknown as typeof values)),
      'undefined',
      'age',
    );
    expect(thrownBy(() => byNameAndAge.compile(null as unknown as typeof values))).to.be.instanceOf(TypeError);
  });

  it('rejects a wrong parameter on execute before anything runs', async () => {
    const error = await failureOf(byNameAndAge.execute({ name: 'x' } as { name: string; age: number }));
    expectParameterError(error, 'missing', 'age');
  });

  it('refuses at precompile time a parameter Kysely did not bind as a value of its own', () => {
    expectParameterError(
      thrownBy(() =>
        precompile<{ id: number; unused: string }>()(db, (db, param) => {
          param('unused');
          return db.selectFrom('person').select('id').where('id', '=', param('id'));
        }),
      ),
      'unplaced',
      'unused',
    );
    expectParameterError(
      thrownBy(() =>
        precompile<{ tag: string }>()(db, (db, param) =>
          db.selectFrom('person').select('id').where(sql<boolean>`tags = ${[param('tag')]}`),
        ),
      ),
      'unplaced',
      'tag',
    );
    expectParameterError(
      thrownBy(() =>
        precompile<{ column: string }>()(db, (db, param) => db.selectFrom('person').select('id').where(sql<boolean>`${sql.raw(param('column'))} = 1`)),
      ),
      'unplaced',
      'column',
    );
    // Kysely itself refuses to inline a non-literal: its message names the parameter
    const literal = thrownBy(() =>
      precompile<{ name: string }>()(db, (db, param) => db.selectFrom('person').select('id').where('name', '=', sql.lit(param('name')))),
    );
    expect(String(literal)).to.include('{{precompiled parameter "name"}}');
  });

  it('refuses a marker of another precompiled query, and param() once compiled', () => {
    let leaked: ParameterFunction<{ id: number }> | undefined;
    let marker: number | undefined;
    const first = precompile<{ id: number }>()(db, (db, param) => {
      leaked = param;
      marker = param('id');
      return db.selectFrom('person').select('id').where('id', '=', marker);
    });
    expect(first.parameterNames).to.deep.equal(['id']);
    const late = leaked;
    const foreign = marker;
    if (late === undefined || foreign === undefined) throw new Error('param was not handed to the builder');
    expect(thrownBy(() => late('id'))).to.be.instanceOf(TypeError);
    const error = thrownBy(() => precompile(db, (db) => db.selectFrom('person').select('id').where('id', '=', foreign)));
    expectParameterError(error, 'unplaced', 'id');
    expect((error as Error).message).to.include('another precompiled query');
  });

  it('refuses a builder result that is not a select, insert, update, delete or merge query', () => {
    expect(thrownBy(() => precompile(db, () => ({}) as unknown as ReturnType<typeof db.selectFrom<'person'>>))).to.be.instanceOf(TypeError);
    const ddl = thrownBy(() => precompile(db, (db) => db.schema.createTable('t').addColumn('id', 'integer')));
    expect(ddl).to.be.instanceOf(TypeError);
    expect((ddl as Error).message).to.include('CreateTableNode');
    const loose = precompile as unknown as (db: unknown, build?: unknown) => unknown;
    expect(thrownBy(() => loose(db))).to.be.instanceOf(TypeError);
    expect(thrownBy(() => loose(undefined, () => db.selectFrom('person')))).to.be.instanceOf(TypeError);
  });

  it('returns what the builder’s execute() returns, for reads and writes with and without returning', async () => {
    const insert = precompile<{ name: string }>()(db, (db, param) => db.insertInto('person').values({ name: param('name') }));
    const update = precompile<{ name: string }>()(db, (db, param) => db.updateTable('person').set({ name: param('name') }));
    const remove = precompile<{ id: number }>()(db, (db, param) => db.deleteFrom('person').where('id', '=', param('id')));
    const returning = precompile<{ id: number }>()(db, (db, param) => db.deleteFrom('person').where('id', '=', param('id')).returning('name'));
    expect(await insert.execute({ name: 'a' })).to.deep.equal(await db.insertInto('person').values({ name: 'a' }).execute());
    expect(await insert.execute({ name: 'a' })).to.deep.equal([new InsertResult(undefined, BigInt(0))]);
    expect(await update.execute({ name: 'a' })).to.deep.equal([new UpdateResult(BigInt(0), undefined)]);
    expect(await remove.execute({ id: 1 })).to.deep.equal([new DeleteResult(BigInt(0))]);
    expect(await returning.execute({ id: 1 })).to.deep.equal([]);
    expect(await returning.executeTakeFirst({ id: 1 })).to.equal(undefined);
    expect(await failureOf(returning.executeTakeFirstOrThrow({ id: 1 }))).to.be.instanceOf(NoResultError);
  });

  it('runs plugins’ transformQuery once, at precompile, and transformResult on every execution', async () => {
    const calls = { query: 0, result: 0 };
    const counting: KyselyPlugin = {
      transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
        calls.query += 1;
        return args.node;
      },
      async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        calls.result += 1;
        return args.result;
      },
    };
    const counted = db.withPlugin(counting);
    const query = precompile<{ id: number }>()(counted, (db, param) => db.selectFrom('person').select('id').where('id', '=', param('id')));
    expect(calls).to.deep.equal({ query: 1, result: 0 });
    await query.execute({ id: 1 });
    await query.execute({ id: 2 });
    await query.executeTakeFirst({ id: 3 });
    expect(calls).to.deep.equal({ query: 1, result: 3 });
  });

  it('keeps the result types and the parameter types (compile-time checks)', () => {
    const inferred = precompile(db, (db, param: ParameterFunction<{ id: number }>) =>
      db.selectFrom('person').select(['id', 'name']).where('id', '=', param('id')),
    );
    const declared = precompile<{ id: number }>()(db, (db, param) => db.selectFrom('person').select(['id', 'name']).where('id', '=', param('id')));
    const none = precompile(db, (db) => db.selectFrom('person').select('age'));
    const insert = precompile<{ name: string }>()(db, (db, param) => db.insertInto('person').values({ name: param('name') }));
    type Row = { id: number; name: string };
    const checks: [
      Equals<Awaited<ReturnType<typeof inferred.execute>>, Row[]>,
      Equals<Awaited<ReturnType<typeof declared.executeTakeFirst>>, Row | undefined>,
      Equals<Awaited<ReturnType<typeof declared.executeTakeFirstOrThrow>>, Row>,
      Equals<Parameters<typeof inferred.execute>[0], Readonly<{ id: number }>>,
      Equals<Awaited<ReturnType<typeof none.execute>>, { age: number | null }[]>,
      Equals<Awaited<ReturnType<typeof insert.execute>>, InsertResult[]>,
      Equals<typeof declared.parameterNames, readonly 'id'[]>,
    ] = [true, true, true, true, true, true, true];
    expect(checks).to.have.length(7);
    expect([inferred.parameterNames, none.parameterNames, insert.parameterNames]).to.deep.equal([['id'], [], ['name']]);

    // never called: these lines only have to fail to type-check
    const typeErrors = (): void => {
      // @ts-expect-error a parameter's type is checked against the column
      precompile<{ id: string }>()(db, (db, param) => db.selectFrom('person').select('id').where('id', '=', param('id')));
      // @ts-expect-error only declared names
      precompile<{ id: number }>()(db, (db, param) => db.selectFrom('person').select('id').where('id', '=', param('ident')));
      // @ts-expect-error without declared parameters there are none
      precompile(db, (db, param) => db.selectFrom('person').select('id').where('id', '=', param('id')));
      // @ts-expect-error the value's type is checked
      void declared.compile({ id: 'five' });
      // @ts-expect-error every parameter is required
      void declared.compile({});
      void (async () => {
        const row = await declared.executeTakeFirstOrThrow({ id: 1 });
        // @ts-expect-error not a selected column
        void row.age;
      });
    };
    expect(typeErrors).to.be.a('function');
  });
});
