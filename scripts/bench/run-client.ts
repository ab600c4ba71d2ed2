/**
 * One measurement in its own process, so that its peak RSS is that client's alone:
 *
 *   BENCH_CHILD_DATABASE_URL=postgres://… node dist/scripts/bench/run-client.js '{"client":"pg","workload":"lookup",…}'
 *
 * Creates the client, warms it up (connections, JIT) for `warmupSeconds` with the measured
 * workload, then measures for `seconds` with `concurrency` workers, closes the client and prints
 * one JSON line (`RunResult`) on stdout. The first VERIFY_ALL results of the process are verified,
 * then every VERIFY_EVERY-th one of each worker (warm-up and measurement alike). A client that
 * returns wrong rows makes it exit with WRONG_ROWS_EXIT_CODE and the reason on stderr; any other
 * failure, with 1.
 */
import { CLIENTS, isClientId } from './clients.js';
import { CHILD_URL_VARIABLE, WRONG_ROWS_EXIT_CODE, type RunArgs, type RunResult } from './protocol.js';
import { percentile } from './stats.js';
import { WORKLOADS, type Operation, type WorkloadName } from './workloads.js';

/** The first VERIFY_ALL results of the process are all verified. */
const VERIFY_ALL = 256;
/** After those, the results of each worker's calls number 0, VERIFY_EVERY, 2 × VERIFY_EVERY… are verified. */
const VERIFY_EVERY = 64;

class WrongRowsError extends Error {}

function parseArgs(text: string | undefined): RunArgs {
  if (text === undefined) throw new Error('usage: run-client.js \'{"client":…,"workload":…,"concurrency":…,"max":…,"seconds":…,"warmupSeconds":…}\'');
  const args = JSON.parse(text) as RunArgs;
  if (!isClientId(args.client)) throw new Error(`unknown client ${JSON.stringify(args.client)}`);
  if (!Object.hasOwn(WORKLOADS, args.workload)) throw new Error(`unknown workload ${JSON.stringify(args.workload)}`);
  for (const field of ['concurrency', 'max', 'seconds', 'warmupSeconds'] as const) {
    if (typeof args[field] !== 'number' || !(args[field] >= 0)) throw new Error(`${field} must be a number >= 0`);
  }
  return args;
}

async function run(args: RunArgs, url: string): Promise<RunResult> {
  const definition = CLIENTS[args.client];
  const workload = WORKLOADS[args.workload as WorkloadName];
  const client = await definition.create(url, args.max, args.ingest);
  const workers = Array.from({ length: args.concurrency }, (_, i) => i);
  const calls = workers.map(() => 0);
  let verified = 0;
  let completed = 0;
  const verify = (n: number, operation: Operation, rows: readonly unknown[]): void => {
    if (completed++ >= VERIFY_ALL && n % VERIFY_EVERY !== 0) return;
    verified++;
    const wrong = operation.verify(rows);
    if (wrong !== undefined) {
      throw new WrongRowsError(`${definition.title} returned wrong rows (${workload.title}, concurrency ${args.concurrency}): ${wrong}`);
    }
  };

  try {
    // Warm-up: opens the connections, lets the JIT settle. At least two calls per worker.
    const warmupEnd = performance.now() + args.warmupSeconds * 1000;
    await Promise.all(
      workers.map(async (worker) => {
        while (performance.now() < warmupEnd || calls[worker]! < 2) {
          const n = calls[worker]!++;
          const operation = workload.operation(worker, n);
          verify(n, operation, await operation.run(client));
        }
      }),
    );
    const warmupOps = calls.reduce((a, b) => a + b, 0);

    const latencies: number[] = [];
    const fastLatencies: number[] = [];
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + args.seconds * 1000;
    await Promise.all(
      workers.map(async (worker) => {
        for (;;) {
          const n = calls[worker]!++;
          const operation = workload.operation(worker, n);
          const begun = performance.now();
          if (begun >= deadline) {
            calls[worker]!--;
            return;
          }
          const rows = await operation.run(client);
          const latency = performance.now() - begun;
          latencies.push(latency);
          if (operation.slow !== true) fastLatencies.push(latency);
          verify(n, operation, rows);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const clientStats = await client.stats?.();
    const sorted = Float64Array.from(latencies).sort();
    const fastSorted = Float64Array.from(fastLatencies).sort();
    return {
      client: args.client,
      workload: args.workload,
      concurrency: args.concurrency,
      ops: latencies.length,
      seconds,
      opsPerSecond: latencies.length / seconds,
      latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? Number.NaN, fastP99: percentile(fastSorted, 99) },
      warmupOps,
      verified,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      cpuMicrosPerOp: latencies.length === 0 ? Number.NaN : (cpu.user + cpu.system) / latencies.length,
      ...(clientStats === undefined ? {} : { clientStats }),
    };
  } finally {
    await client.close();
  }
}

try {
  const url = process.env[CHILD_URL_VARIABLE];
  if (!url) throw new Error(`${CHILD_URL_VARIABLE} is not set`);
  const result = await run(parseArgs(process.argv[2]), url);
  // Exit at once: a client that left a timer or socket behind must not hold up the run.
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
} catch (error) {
  process.stderr.write(`${error instanceof WrongRowsError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(error instanceof WrongRowsError ? WRONG_ROWS_EXIT_CODE : 1);
}
