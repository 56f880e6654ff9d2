import type { UserRegex } from '../user-regex.js';
import type { TrainChannel, TrainInput } from '../api/train.js';
import type { MetricBound } from './check-spec.js';

/** What one case trains: the one-call training's input (paths made absolute), less what the check decides itself. */
export type CaseTraining = Omit<TrainInput, 'name' | 'onProgress' | 'labels' | 'signal' | 'privacyConfiguration' | 'roleArn'>;

export type CaseChannel = TrainChannel;

export type LogLineMatcher = { kind: 'contains'; text: string } | { kind: 'regex'; source: string; regex: UserRegex };

/** What a case's run must show, with the defaults filled in. */
export interface CaseExpectations {
  status: string;
  statusCode?: string;
  statusMessage?: string;
  metrics: { name: string; bound: MetricBound }[];
  maxDurationSeconds?: number;
  modelFiles: string[];
  logLines: LogLineMatcher[];
}

/** One case of a suite: a grid's combination is a case of its own. */
export interface CheckCase {
  /** Unique in its suite: the case's name, and the grid's values in brackets (`lr[learning_rate=0.1]`). */
  name: string;
  training: CaseTraining;
  expect: CaseExpectations;
}

/** One spec file: one JUnit test suite. */
export interface CheckSuite {
  name: string;
  /** The spec file, absolute. */
  file: string;
  /** The workspace file for SQL channels, absolute, when the spec names one. */
  workspaceFile?: string;
  cases: CheckCase[];
}
