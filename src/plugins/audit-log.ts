import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import winston from 'winston';
import type { InterceptedResult, QueryInterceptor } from '../dialect/interceptor.js';
import { safeDescribe } from '../dialect/interceptor-chain.js';
import type { QueryContext } from '../dialect/query-context.js';
import { QUERY_OPERATIONS, type QueryOperation } from '../dialect/query-operation.js';
import { MAX_QUERY_TABLES, tablesOf } from '../dialect/query-tables.js';
import type { ErrorKind } from '../errors/error-kind.js';
import type { Logger } from '../observability/logger.js';
import { redactString } from '../observability/logger-factory.js';
import { classifyError } from '../resilience/classify-error.js';
import { currentActor, type Actor } from './actor-context.js';
import { parameterColumns, redactParameters, type ParameterRedaction } from './audit-parameters.js';

/** Why a statement failed, in an {@link AuditRecord}. */
export interface AuditError {
  /** The error's category, from `classifyError`. */
  readonly kind: ErrorKind;
  /** SQLSTATE (e.g. `23505`), socket or library code, from `classifyError`; `null` when there is none. */
  readonly code: string | null;
  /**
   * The error's message with secrets masked (`redactString`). PostgreSQL may quote an offending
   * value in it (`invalid input syntax for type integer: "abc"`).
   */
  readonly message: string;
}

/**
 * One audited statement, written once it has settled (succeeded or failed). Fields appear in this
 * order in JSON; `error` only for failures, `parameters` only with
 * {@link AuditLogOptions.includeParameters}. Records and their arrays are frozen.
 */
export interface AuditRecord {
  /** When the statement started (entered the interceptor chain), ISO 8601 in UTC. */
  readonly time: string;
  /** The {@link Actor} of the `withActor` call the statement ran in, `null` outside any. */
  readonly actor: Actor | null;
  /**
   * What the statement does. A `select` whose `with` clause writes (Kysely's
   * `db.with('x', (qb) => qb.insertInto(…)).selectFrom('x')`) is recorded as that write.
   */
  readonly operation: QueryOperation;
  /**
   * Tables written or read, target first, from Kysely's query tree (with the targets of writing
   * CTEs); empty for raw SQL (`sql\`…\``, including `truncate`).
   */
  readonly tables: readonly string[];
  /**
   * Rows affected, as the server reported them, for `insert`, `update`, `delete` and `merge`
   * (rows streamed for a statement run through `.stream()`, rows returned for a `select`);
   * `null` for DDL, other statements and failures.
   */
  readonly rowCount: number | null;
  /** Milliseconds from start until the statement settled (microsecond precision). */
  readonly durationMs: number;
  /** Whether the statement succeeded. */
  readonly outcome: 'success' | 'error';
  /** Why it failed; only when `outcome` is `error`. */
  readonly error?: AuditError;
  /** Kysely's query id. */
  readonly queryId: string;
  /** Pool-unique id of the connection the statement ran on. */
  readonly connectionId: number;
  /** Whether the statement ran inside a transaction block. */
  readonly inTransaction: boolean;
  /**
   * The SQL as sent, with `$n` placeholders, inline secrets masked (`redactString`), cut after
   * {@link AuditLogOptions.maxSqlLength} characters. Literals written into raw SQL do appear.
   */
  readonly sql: string;
  /**
   * The bound values, `$1` first, after redaction (see {@link AuditLogOptions.redactColumns}); only
   * with {@link AuditLogOptions.includeParameters}. Values are the ones sent (`Date`, `Buffer`,
   * `bigint`…), not copies: the sink serialises them.
   */
  readonly parameters?: readonly unknown[];
}

/**
 * Where audit records go. `write` is called once per record, synchronously, after the statement
 * settled and before the caller gets its outcome. It must not block: buffer or hand off slow
 * work. Whatever it throws (or a promise it returns rejects with) is reported once and ignored:
 * the statement keeps its outcome, the record is lost. A returned promise is not awaited.
 */
export interface AuditSink {
  /** Takes one record. */
  write(record: AuditRecord): void;
}

/** Options of {@link auditLog}. */
export interface AuditLogOptions {
  /**
   * Where records go: an {@link AuditSink}, or a winston logger (records are written with
   * `logger.log({ level, message: 'audit', ...record })`; {@link createAuditLogger} makes one that
   * writes the record alone as a JSON line). Default: `createAuditLogger()`, JSON lines on stdout.
   */
  readonly sink?: AuditSink | winston.Logger;
  /** Level records are written at when `sink` is a winston logger; one of its levels. Default `info`. */
  readonly level?: string;
  /** Whether records carry the bound parameter values. Default `false`: they never do. */
  readonly includeParameters?: boolean;
  /**
   * Columns whose values are replaced by `'[REDACTED]'` in `parameters`: names (`email`,
   * case-insensitive, in any table) or `table.column` / `schema.table.column` (only in that
   * table). Values are matched to columns through Kysely's query tree: the values of `insert`
   * rows (multi-row too) and of `set` (`update`, `on conflict do update`, a merge's `then update`
   * / `then insert`). A parameter that is only part of a column's expression (`lower($1)`) is
   * redacted when that column is.
   *
   * Parameters bound to no column (`where`, `returning`, CTE bodies, `insert … select`, and every
   * parameter of raw SQL) are kept, unless {@link AuditLogOptions.redactUnmapped}.
   */
  readonly redactColumns?: readonly string[];
  /**
   * Also replace every parameter not matched to a column (see
   * {@link AuditLogOptions.redactColumns}), and those only part of a column's expression. Default
   * `false`.
   */
  readonly redactUnmapped?: boolean;
  /**
   * Operations audited. Raw SQL is classified by its leading keyword (`truncate`, `comment`,
   * `grant`… are `ddl`). Default: `insert`, `update`, `delete`, `merge`, `ddl`.
   */
  readonly operations?: readonly QueryOperation[];
  /** Longest SQL text recorded, in characters (the rest is cut, with a marker). Default 2000. */
  readonly maxSqlLength?: number;
  /**
   * Where the first failure of the sink is reported (`error`). Only the first one is logged;
   * use {@link AuditLogOptions.onSinkError} to see them all. Default: `process.emitWarning`
   * (type `AuditWarning`, code `ALERT_HISTORY_DB_AUDIT_SINK`).
   */
  readonly logger?: Logger;
  /**
   * Called for every failed write, with the record that was lost (`undefined` for an `error`
   * event of a winston logger, which belongs to no one record). What it throws is ignored.
   */
  readonly onSinkError?: (error: unknown, record: AuditRecord | undefined) => void;
}

/** Operations audited by default: the writes and schema changes. */
export const DEFAULT_AUDITED_OPERATIONS: readonly QueryOperation[] = Object.freeze(['insert', 'update', 'delete', 'merge', 'ddl']);

/** Default of {@link AuditLogOptions.maxSqlLength}. */
export const DEFAULT_AUDIT_MAX_SQL_LENGTH = 2000;

/** The winston `message` of audit records; {@link createAuditLogger} leaves it out of the line. */
export const AUDIT_MESSAGE = 'audit';

/** Longest error message recorded. */
const MAX_ERROR_MESSAGE_LENGTH = 2000;

const WRITE_OPERATIONS: ReadonlySet<QueryOperation> = new Set(['insert', 'update', 'delete', 'merge', 'ddl']);

const CTE_WRITES: Readonly<Record<string, QueryOperation>> = Object.freeze({
  InsertQueryNode: 'insert',
  UpdateQueryNode: 'update',
  DeleteQueryNode: 'delete',
  MergeQueryNode: 'merge',
});

const LEVEL = Symbol.for('level');

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… [${text.length - max} more characters]` : text;
}

function isWinstonLogger(value: unknown): value is winston.Logger {
  if (typeof value !== 'object' || value === null) return false;
  const fields = value as Record<string, unknown>;
  return typeof fields.log === 'function' && typeof fields.on === 'function' && typeof fields.levels === 'object' && fields.levels !== null;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

interface WritingCtes {
  readonly operations: QueryOperation[];
  readonly tables: string[];
}

/** Writes in the `with` clause of a Kysely query (data-modifying CTEs), a few levels deep. */
function writingCtes(node: unknown, found: WritingCtes, depth: number): void {
  if (depth > 4 || typeof node !== 'object' || node === null) return;
  const withNode = (node as { with?: unknown }).with as { kind?: unknown; expressions?: unknown } | undefined;
  if (withNode?.kind !== 'WithNode' || !Array.isArray(withNode.expressions)) return;
  for (const cte of withNode.expressions as unknown[]) {
    const expression = (cte as { expression?: unknown } | null)?.expression as { kind?: unknown } | undefined;
    if (typeof expression?.kind !== 'string') continue;
    const operation = CTE_WRITES[expression.kind];
    if (operation !== undefined) {
      found.operations.push(operation);
      found.tables.push(...tablesOf(expression as Parameters<typeof tablesOf>[0]));
    }
    writingCtes(expression, found, depth + 1);
  }
}

/** What a statement is, for the audit log. */
interface Statement {
  readonly operation: QueryOperation;
  readonly tables: readonly string[];
  /** The operations that decide whether it is audited: its own and those of writing CTEs. */
  readonly operations: readonly QueryOperation[];
}

function statementOf(ctx: QueryContext): Statement {
  const own = ctx.operation;
  const ctes: WritingCtes = { operations: [], tables: [] };
  if (ctx.query !== undefined) writingCtes(ctx.query, ctes, 0);
  if (ctes.operations.length === 0) return { operation: own, tables: ctx.tables, operations: [own] };
  const tables: string[] = [];
  for (const table of [...ctx.tables, ...ctes.tables]) {
    if (tables.length < MAX_QUERY_TABLES && !tables.includes(table)) tables.push(table);
  }
  return {
    operation: WRITE_OPERATIONS.has(own) ? own : (ctes.operations[0] ?? own),
    tables: Object.freeze(tables),
    operations: [own, ...ctes.operations],
  };
}

/** The message of whatever was thrown. Never throws. */
function messageOf(error: unknown): string {
  try {
    if (error instanceof Error) return String(error.message);
    const message = typeof error === 'object' && error !== null ? (error as { message?: unknown }).message : undefined;
    return typeof message === 'string' ? message : String(error);
  } catch {
    return safeDescribe(error);
  }
}

function describeError(error: unknown): AuditError {
  let kind: ErrorKind = 'internal';
  let code: string | null = null;
  try {
    const classified = classifyError(error);
    kind = classified.kind;
    code = classified.code ?? null;
  } catch {
    // a value whose properties cannot be read: an internal error without a code
  }
  return Object.freeze({ kind, code, message: cut(redactString(messageOf(error)), MAX_ERROR_MESSAGE_LENGTH) });
}

/** Rows affected: the server's count for writes, rows seen for streams and selects, else `null`. */
function rowCountOf(ctx: QueryContext, result: InterceptedResult): number | null {
  if (result.numAffectedRows !== undefined) return Number(result.numAffectedRows);
  if (ctx.mode === 'stream' || ctx.operation === 'select') return ctx.rowCount ?? null;
  return null;
}

interface Settings {
  readonly write: (record: AuditRecord) => unknown;
  readonly winstonSink: winston.Logger | undefined;
  readonly operations: ReadonlySet<QueryOperation>;
  readonly includeParameters: boolean;
  readonly redaction: ParameterRedaction | undefined;
  readonly maxSqlLength: number;
  readonly logger: Logger | undefined;
  readonly onSinkError: ((error: unknown, record: AuditRecord | undefined) => void) | undefined;
}

function optionalBoolean(field: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${field} must be a boolean`);
  return value;
}

function readSettings(options: AuditLogOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('audit log options must be an object');
  const sink: unknown = options.sink ?? createAuditLogger();
  let write: (record: AuditRecord) => unknown;
  let winstonSink: winston.Logger | undefined;
  if (isWinstonLogger(sink)) {
    const level = options.level ?? 'info';
    if (typeof level !== 'string' || !Object.prototype.hasOwnProperty.call(sink.levels, level)) {
      throw new TypeError(`level must be one of the sink's levels: ${Object.keys(sink.levels).join(', ')}`);
    }
    winstonSink = sink;
    write = (record) => sink.log({ level, message: AUDIT_MESSAGE, ...record });
  } else if (typeof sink === 'object' && sink !== null && typeof (sink as { write?: unknown }).write === 'function') {
    const target = sink as AuditSink;
    write = (record) => target.write(record);
  } else {
    throw new TypeError('sink must be an AuditSink (an object with write(record)) or a winston logger');
  }

  const operations = options.operations ?? DEFAULT_AUDITED_OPERATIONS;
  if (!Array.isArray(operations) || operations.length === 0) throw new TypeError('operations must be a non-empty array');
  for (const operation of operations) {
    if (!QUERY_OPERATIONS.includes(operation)) throw new TypeError(`operations: unknown operation ${JSON.stringify(operation)} (allowed: ${QUERY_OPERATIONS.join(', ')})`);
  }

  const includeParameters = optionalBoolean('includeParameters', options.includeParameters);
  const redactUnmapped = optionalBoolean('redactUnmapped', options.redactUnmapped);
  const redactColumns = options.redactColumns ?? [];
  if (!Array.isArray(redactColumns) || redactColumns.some((column) => typeof column !== 'string' || column.trim() === '')) {
    throw new TypeError('redactColumns must be an array of column names');
  }
  const columns = new Set(redactColumns.map((column) => column.trim().toLowerCase()));
  const redaction = columns.size > 0 || redactUnmapped ? Object.freeze({ columns, unmapped: redactUnmapped }) : undefined;

  const maxSqlLength = options.maxSqlLength ?? DEFAULT_AUDIT_MAX_SQL_LENGTH;
  if (typeof maxSqlLength !== 'number' || !Number.isInteger(maxSqlLength) || maxSqlLength < 0) throw new TypeError('maxSqlLength must be an integer >= 0');

  const { logger, onSinkError } = options;
  if (onSinkError !== undefined && typeof onSinkError !== 'function') throw new TypeError('onSinkError must be a function');
  if (logger !== undefined && (typeof logger !== 'object' || logger === null || typeof logger.error !== 'function')) {
    throw new TypeError('logger must have an error method');
  }
  return {
    write,
    winstonSink,
    operations: new Set(operations),
    includeParameters,
    redaction,
    maxSqlLength,
    logger,
    onSinkError,
  };
}

/** What `before` keeps for the statement in `ctx.state`. */
interface Pending {
  readonly actor: Actor | null;
  readonly statement: Statement;
}

/**
 * The audit log plugin, an interceptor: every audited statement (by default every `insert`,
 * `update`, `delete`, `merge` and schema change, from Kysely or raw SQL) produces exactly one
 * {@link AuditRecord} once it has settled, successful or not; other statements (selects,
 * `begin`/`commit`, Kysely's introspection) none.
 *
 * The actor is the {@link currentActor} of the caller (set with `withActor`), read in `before`,
 * in the caller's asynchronous context, and kept with the statement, so concurrent requests
 * never see each other's actor. Records are handed to the sink in `after` / `error`, before the
 * caller gets the outcome; a sink that throws never changes that outcome (see
 * {@link AuditSink}): its first failure is reported (see {@link AuditLogOptions.logger}), every
 * one goes to {@link AuditLogOptions.onSinkError}.
 *
 * Parameter values are left out unless {@link AuditLogOptions.includeParameters}; the SQL text
 * always has its inline secrets masked.
 *
 * Place it first in `interceptors` to record the statement as the caller issued it and the
 * outcome the caller gets, or after an interceptor that rewrites statements to record them as
 * sent. A statement refused before the chain (its connection already released) is recorded too,
 * with the actor current when it was refused.
 *
 * @throws TypeError for an invalid option.
 */
export function auditLog(options: AuditLogOptions = {}): QueryInterceptor {
  const settings = readSettings(options);
  const key = Symbol('audit-log');
  let reported = false;

  const sinkFailed = (error: unknown, record: AuditRecord | undefined): void => {
    if (!reported) {
      reported = true;
      const described = redactString(safeDescribe(error));
      try {
        if (settings.logger !== undefined) {
          settings.logger.error('audit sink failed; the audit record is lost (further sink failures are not logged)', {
            error: described,
            ...(record === undefined ? {} : { queryId: record.queryId, operation: record.operation }),
          });
        } else {
          process.emitWarning(`audit sink failed; the audit record is lost (further sink failures are not reported): ${described}`, {
            type: 'AuditWarning',
            code: 'ALERT_HISTORY_DB_AUDIT_SINK',
          });
        }
      } catch {
        // reporting must not fail the statement either
      }
    }
    if (settings.onSinkError !== undefined) {
      try {
        settings.onSinkError(error, record);
      } catch {
        // observers only observe
      }
    }
  };

  // a winston transport that emits `error` makes the logger emit it: report it, never leave it unhandled
  settings.winstonSink?.on('error', (error: unknown) => sinkFailed(error, undefined));

  const audited = (statement: Statement): boolean => statement.operations.some((operation) => settings.operations.has(operation));

  /**
   * False when the statement is certainly not audited: its own operation is not, and it has no
   * `with` clause that could write. The common case (a select) thus allocates nothing, not even
   * `ctx.state`.
   */
  const mayBeAudited = (ctx: QueryContext): boolean =>
    settings.operations.has(ctx.operation) || (ctx.query as { with?: unknown } | undefined)?.with !== undefined;

  /** What `before` kept, or (for a statement refused before the chain) the same, found now. */
  const pendingOf = (ctx: QueryContext): Pending | undefined => {
    const kept = ctx.state.get(key) as Pending | undefined;
    if (kept !== undefined) return kept;
    const statement = statementOf(ctx);
    return audited(statement) ? { actor: currentActor() ?? null, statement } : undefined;
  };

  const emit = (ctx: QueryContext, result: InterceptedResult | undefined, error: unknown): void => {
    if (!mayBeAudited(ctx)) return;
    const pending = pendingOf(ctx);
    if (pending === undefined) return;
    const failed = result === undefined;
    const parameters = settings.includeParameters
      ? Object.freeze(
          settings.redaction === undefined
            ? [...ctx.parameters]
            : redactParameters(ctx.parameters, parameterColumns(ctx.query, ctx.sql, ctx.parameters.length), settings.redaction),
        )
      : undefined;
    const record: AuditRecord = Object.freeze({
      time: new Date(ctx.startTime).toISOString(),
      actor: pending.actor,
      operation: pending.statement.operation,
      tables: Object.isFrozen(pending.statement.tables) ? pending.statement.tables : Object.freeze([...pending.statement.tables]),
      rowCount: result === undefined ? null : rowCountOf(ctx, result),
      durationMs: Math.round((ctx.durationMs ?? 0) * 1000) / 1000,
      outcome: failed ? 'error' : 'success',
      ...(failed ? { error: describeError(error) } : {}),
      queryId: ctx.queryId,
      connectionId: ctx.connectionId,
      inTransaction: ctx.inTransaction,
      sql: cut(redactString(ctx.sql), settings.maxSqlLength),
      ...(parameters === undefined ? {} : { parameters }),
    });
    try {
      const written = settings.write(record);
      if (isThenable(written)) written.then(undefined, (thrown: unknown) => sinkFailed(thrown, record));
    } catch (thrown) {
      sinkFailed(thrown, record);
    }
  };

  return Object.freeze({
    name: 'audit-log',
    before: (ctx: QueryContext): void => {
      if (!mayBeAudited(ctx)) return;
      const statement = statementOf(ctx);
      if (audited(statement)) ctx.state.set(key, { actor: currentActor() ?? null, statement } satisfies Pending);
    },
    after: (ctx: QueryContext, result: InterceptedResult): void => emit(ctx, result, undefined),
    error: (ctx: QueryContext, error: unknown): void => emit(ctx, undefined, error),
  });
}

/** Options of {@link createAuditLogger}. */
export interface AuditLoggerOptions {
  /**
   * Path of a file the records are appended to (`winston.transports.File`; missing directories
   * are created). Default: none.
   */
  readonly file?: string;
  /** A stream the records are written to, each line ended by `\n`. Default `process.stdout` when `file` is not given either. */
  readonly stream?: NodeJS.WritableStream;
  /** Lowest level written, one of winston's npm levels. Default `info`, the level {@link auditLog} writes at by default. */
  readonly level?: string;
}

/**
 * Writes the record alone: the winston `level` and the {@link AUDIT_MESSAGE} are left out, so a
 * line is exactly the {@link AuditRecord}. Other entries keep their `level` and `message`.
 */
const auditLineFormat = winston.format((info) => {
  const source = info as Record<string | symbol, unknown>;
  const line: Record<string | symbol, unknown> = {};
  const isRecord = source.message === AUDIT_MESSAGE;
  for (const key of Object.keys(source)) {
    if (isRecord && (key === 'level' || key === 'message')) continue;
    line[key] = source[key];
  }
  line[LEVEL] = source[LEVEL] ?? info.level;
  return line as winston.Logform.TransformableInfo;
});

/**
 * A dedicated winston logger for audit records, separate from the application's logger: one
 * JSON object per line, exactly the {@link AuditRecord} (`{"time":…,"actor":…,"operation":…}`),
 * `bigint` values as strings, appended to `file` and/or written to `stream` (stdout when neither
 * is given). Pass it as {@link AuditLogOptions.sink}. More transports can be added with
 * `logger.add()`.
 *
 * The file is created (with its missing directories) and opened for appending once, here, so
 * that a path that cannot be written fails at start-up: winston's File transport itself only
 * reports such a failure to its debug output and then drops the lines. Failures after start-up
 * (disk full) are not reported by that transport either; add another transport, or use an
 * {@link AuditSink}, when they must be seen.
 *
 * Writes are asynchronous: to flush at shutdown, call `logger.end()` and wait for the `finish`
 * event of its transports. A transport that emits `error` makes the logger emit `error`, which
 * {@link auditLog} listens to on the loggers it writes to (without a listener, it is an
 * unhandled `error` event).
 *
 * @throws TypeError for an invalid option; the file system's error (`EACCES`, `EISDIR`,
 *   `ENOTDIR`…) when `file` cannot be opened for appending.
 */
export function createAuditLogger(options: AuditLoggerOptions = {}): winston.Logger {
  if (typeof options !== 'object' || options === null) throw new TypeError('audit logger options must be an object');
  const { file, stream } = options;
  const level = options.level ?? 'info';
  if (!Object.prototype.hasOwnProperty.call(winston.config.npm.levels, level)) {
    throw new TypeError(`level must be one of ${Object.keys(winston.config.npm.levels).join(', ')}`);
  }
  if (file !== undefined && (typeof file !== 'string' || file.trim() === '')) throw new TypeError('file must be a non-empty path');
  if (stream !== undefined && (typeof stream !== 'object' || stream === null || typeof stream.write !== 'function')) {
    throw new TypeError('stream must be a writable stream');
  }
  if (file !== undefined) {
    // winston's File transport only logs (to `debug`) a file it cannot open, and then drops every
    // line: fail here, at start-up, instead
    mkdirSync(dirname(file), { recursive: true });
    closeSync(openSync(file, 'a'));
  }
  const transports: winston.transport[] = [];
  if (file !== undefined) transports.push(new winston.transports.File({ filename: file, eol: '\n' }));
  if (stream !== undefined || file === undefined) transports.push(new winston.transports.Stream({ stream: stream ?? process.stdout, eol: '\n' }));
  return winston.createLogger({
    level,
    levels: winston.config.npm.levels,
    exitOnError: false,
    format: winston.format.combine(auditLineFormat(), winston.format.json({ deterministic: false })),
    transports,
  });
}
