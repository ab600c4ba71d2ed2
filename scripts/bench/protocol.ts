/** What the parent passes to `run-client.js` (as one JSON argument) and what it prints back (one JSON line on stdout). */
import type { ClientId } from './clients.js';
import type { IngestStatements } from './ingest-statements.js';
import type { WorkloadName } from './workloads.js';

/** The environment variable carrying the connection string to the child (kept off the command line, where `ps` shows it). */
export const CHILD_URL_VARIABLE = 'BENCH_CHILD_DATABASE_URL';

/** Exit code of a child whose client returned wrong rows (any other failure exits with 1). */
export const WRONG_ROWS_EXIT_CODE = 3;

export interface RunArgs {
  readonly client: ClientId;
  readonly workload: WorkloadName;
  readonly concurrency: number;
  /** Pool size: min(concurrency, 16). */
  readonly max: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** The ingest transaction's SQL (captured by the parent), for the ingest workload. */
  readonly ingest?: IngestStatements;
}

export interface RunResult {
  readonly client: ClientId;
  readonly workload: WorkloadName;
  readonly concurrency: number;
  /** Operations completed in the measured period. */
  readonly ops: number;
  /** Length of the measured period (until the last operation begun in it completed), seconds. */
  readonly seconds: number;
  readonly opsPerSecond: number;
  /** `fastP99`: p99 of the operations that are not the workload's slow statement (head-of-line workload). */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly fastP99: number };
  /** Operations of the warm-up. */
  readonly warmupOps: number;
  /** Results verified, warm-up included (the first 256, then every 64th call of each worker). */
  readonly verified: number;
  /** `process.resourceUsage().maxRSS`, in MB (1024 × 1024 bytes). */
  readonly maxRssMb: number;
  /**
   * CPU time (user + system) of the measuring process per operation, in µs: what one operation
   * costs the client, much less sensitive to other load on the machine than ops/s.
   */
  readonly cpuMicrosPerOp: number;
  /** What the client's `stats()` reported after the measurement, if it has one. */
  readonly clientStats?: Readonly<Record<string, number>>;
}
