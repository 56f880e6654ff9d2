export { materializeQuery, outputFileName, removeMaterializedData, type MaterializeQueryOptions, type MaterializedQuery, type QueryLimits, type ResultFormat, TIMEOUT_SETTING, MAX_RESULT_SETTING } from './materialize-query.js';
export { QueryFailedError, QueryRefusedError, QueryLimitExceededError, MaterializedDataExistsError } from './errors.js';
