/**
 * `cleanrooms-ml-local/testcontainers`: a Clean Rooms ML training run as a testcontainers-style container, on
 * testcontainers' own engine and session. Matchers are at `cleanrooms-ml-local/testcontainers/matchers`.
 */
export { TrainingContainer, type TrainingChannel } from './training-container.js';
export { StartedTrainingJob } from './started-training-job.js';
export { TrainingResult, type TrainingLogLine, type TrainingMetric, type TrainingMetricPoint } from './training-result.js';
export { ArchiveExtractionError, extractArchiveSafely, type ExtractedArchive } from '../runner/archive-extraction.js';
export { sweepDeadTestProcesses, type SweepResult } from './test-process-owner.js';
export { TestcontainersUnavailableError } from './testcontainers-engine.js';
