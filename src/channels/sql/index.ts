export { materializeQuery, outputFileName, removeMaterializedData, type MaterializeQueryOptions, type MaterializedQuery, type ResultFormat } from './materialize-query.js';
export { QueryFailedError, QueryRefusedError, MaterializedDataExistsError } from './errors.js';
