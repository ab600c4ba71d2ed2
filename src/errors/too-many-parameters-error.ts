import { AlertHistoryDbError } from './alert-history-db-error.js';

/** The most bind parameters one statement can carry: the wire protocol counts them in 16 bits. */
export const MAX_BIND_PARAMETERS = 65_535;

/**
 * A statement has more bind parameters than the wire protocol can carry (65,535). Refused before
 * anything is sent, so the connection stays usable. (node-postgres does not check: it would send
 * the count modulo 65,536, a malformed message the server answers with `08P01`, which costs the
 * connection.) Split the statement, e.g. insert in batches, or pass an array as one parameter
 * (`= any($1)`).
 */
export class TooManyParametersError extends AlertHistoryDbError {
  readonly kind = 'programming' as const;
  /** How many parameters the statement had. */
  readonly count: number;

  constructor(count: number) {
    super(`statement has ${count} bind parameters; PostgreSQL's protocol allows at most ${MAX_BIND_PARAMETERS}`, {
      code: 'TOO_MANY_PARAMETERS',
      retryable: false,
    });
    this.count = count;
  }
}
