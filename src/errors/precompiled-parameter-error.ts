import { AlertHistoryDbError } from './alert-history-db-error.js';

/**
 * What is wrong with a parameter of a precompiled query:
 *
 * - `missing`: `execute` was not given a value for it;
 * - `unknown`: `execute` was given a value for a name the query has no parameter for;
 * - `undefined`: its value is `undefined` (pass `null` for SQL `NULL`);
 * - `unplaced`: at precompile time, Kysely did not pass it as a bind parameter of its own (the
 *   builder dropped it, inlined it into the SQL text, or nested it inside another value), or it
 *   came from another precompiled query.
 */
export type PrecompiledParameterProblem = 'missing' | 'unknown' | 'undefined' | 'unplaced';

const EXPLANATIONS: Readonly<Record<PrecompiledParameterProblem, string>> = {
  missing: 'is missing: execute() must be given a value for every parameter',
  unknown: 'is not a parameter of this query',
  undefined: 'is undefined: pass null for SQL NULL',
  unplaced: 'was not passed by Kysely as a bind parameter of its own',
};

/**
 * A precompiled query (`precompile`) was built or executed with a wrong parameter. Thrown before
 * anything is sent. The message names the parameter, never its value.
 */
export class PrecompiledParameterError extends AlertHistoryDbError {
  readonly kind = 'programming' as const;
  /** The name of the parameter. */
  readonly parameter: string;
  /** What is wrong with it. */
  readonly problem: PrecompiledParameterProblem;

  /** `detail`, when given, is appended to the message (it must not hold values). */
  constructor(problem: PrecompiledParameterProblem, parameter: string, detail?: string) {
    super(`precompiled query: parameter ${JSON.stringify(parameter)} ${EXPLANATIONS[problem]}${detail === undefined ? '' : ` (${detail})`}`, {
      code: 'PRECOMPILED_PARAMETER',
      retryable: false,
    });
    this.parameter = parameter;
    this.problem = problem;
  }
}
