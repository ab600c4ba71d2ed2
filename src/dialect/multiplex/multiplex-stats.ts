/** What multiplexing has done so far (`database.multiplexStats()`, and the `db_client_multiplex_*` metrics). */
export interface MultiplexStats {
  /** Single statements run on a shared connection since the start. */
  readonly multiplexed: number;
  /** Single statements outside transactions that the routing sent to an exclusive connection (they change the session, carry an `AbortSignal`, or were learned slow). */
  readonly exclusive: number;
  /** Statements in flight on the shared connection of each slot, now (0 for a slot with no connection open). */
  readonly inFlight: readonly number[];
  /** Shared connections borrowed from the pool now (they count as `active` in the pool's stats). */
  readonly connections: number;
  /** Statements waiting for a shared connection to drain below `maxInFlight`, now. */
  readonly waiting: number;
  /** SQL texts currently learned slow (over `slowStatementMs` on a shared connection), which run on exclusive connections. */
  readonly slowTexts: number;
}
