/**
 * Why a protected query produced no channel data. `message` is what a user reads in the channel's
 * statusDetails: the engine's own words where the engine refused.
 */
export class QueryFailedError extends Error {
  override readonly name: string = 'QueryFailedError';
  /** The channel's statusDetails.statusCode. */
  readonly statusCode = 'QUERY_FAILED';
}

/** The query is not a single SELECT: refused before the engine runs anything. */
export class QueryRefusedError extends QueryFailedError {
  override readonly name: string = 'QueryRefusedError';
}

/** The query ran past a limit (its time, its result's size): stopped, and nothing kept. */
export class QueryLimitExceededError extends QueryFailedError {
  override readonly name: string = 'QueryLimitExceededError';
}

/** The output folder already holds data: a channel's data is written once. */
export class MaterializedDataExistsError extends Error {
  override readonly name = 'MaterializedDataExistsError';
}
