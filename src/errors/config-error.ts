import { AlertHistoryDbError } from './alert-history-db-error.js';

/** One thing wrong with the configuration. */
export interface ConfigProblem {
  /** The field, as the user spelled its source (e.g. `PGPORT`, `DATABASE_URL`, `port`). */
  readonly field: string;
  /** What is wrong, without the offending value when that value could be a secret. */
  readonly message: string;
}

/** The configuration is invalid; `problems` lists every problem found, not just the first. */
export class ConfigError extends AlertHistoryDbError {
  readonly kind = 'configuration' as const;
  /** Every problem, in the order the fields were checked. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const list = problems.map((p) => `  - ${p.field}: ${p.message}`).join('\n');
    super(`invalid PostgreSQL configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${list}`, {
      code: 'INVALID_CONFIG',
      retryable: false,
    });
    this.problems = Object.freeze(problems.map((p) => Object.freeze({ ...p })));
  }
}
