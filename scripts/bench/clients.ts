/**
 * The clients measured, by the id used in `BENCH_CLIENTS`. Each is loaded (dynamic import) only by
 * the child process that measures it, so that its peak RSS holds that client's code and nothing else.
 */
import type { IngestStatements } from './ingest-statements.js';
import type { BenchClient } from './workloads.js';

export interface ClientDefinition {
  readonly title: string;
  /** `ingest`: the SQL of the ingest transaction, for the clients that send SQL themselves. */
  create(url: string, max: number, ingest: IngestStatements | undefined): Promise<BenchClient>;
}

export const CLIENTS = {
  'pg': { title: 'pg, text queries', create: async (url, max, ingest) => (await import('./client-pg.js')).pgTextClient(url, max, ingest) },
  'pg-named': { title: 'pg, named statements', create: async (url, max, ingest) => (await import('./client-pg.js')).pgNamedClient(url, max, ingest) },
  'kysely': {
    title: 'Kysely + PostgresDialect',
    create: async (url, max) => (await import('./client-kysely.js')).kyselyPostgresDialectClient(url, max),
  },
  'ours': { title: 'Kysely + createDialect (bare)', create: async (url, max) => (await import('./client-ours.js')).ourDialectClient(url, max) },
  'ours-all': {
    title: 'Kysely + createDialect (all on)',
    create: async (url, max) => (await import('./client-ours.js')).ourAllOnClient(url, max),
  },
  'ours-precompiled': {
    title: 'Kysely + createDialect (all on, precompiled)',
    create: async (url, max) => (await import('./client-ours-precompiled.js')).ourPrecompiledClient(url, max),
  },
  'ours-mux': {
    title: 'Kysely + createDatabase (all on, multiplexed)',
    create: async (url, max) => (await import('./client-ours.js')).ourAllOnMultiplexedClient(url, max),
  },
  'ours-precompiled-mux': {
    title: 'Kysely + createDatabase (all on, precompiled, multiplexed)',
    create: async (url, max) => (await import('./client-ours-precompiled.js')).ourPrecompiledClient(url, max, true),
  },
  'postgresjs': { title: 'postgres.js', create: async (url, max, ingest) => (await import('./client-postgresjs.js')).postgresJsClient(url, max, ingest) },
} as const satisfies Record<string, ClientDefinition>;

export type ClientId = keyof typeof CLIENTS;

/** The client every ratio is taken against. */
export const BASELINE: ClientId = 'kysely';

export function isClientId(id: string): id is ClientId {
  return Object.hasOwn(CLIENTS, id);
}
