import type { TrainedModelStatus } from './generated/types.js';

/**
 * Every status change of a trained model goes through this one table (contract §6), and is stored
 * before it is announced. A change the table does not allow is a bug on our side, or a race that
 * another actor (a cancel) won: callers treat `false` as "someone else decided first".
 */
const TRANSITIONS: Record<TrainedModelStatus, readonly TrainedModelStatus[]> = {
  CREATE_PENDING: ['CREATE_IN_PROGRESS', 'CREATE_FAILED', 'CANCEL_PENDING'],
  CREATE_IN_PROGRESS: ['ACTIVE', 'CREATE_FAILED', 'CANCEL_PENDING'],
  ACTIVE: ['DELETE_PENDING'],
  CREATE_FAILED: ['DELETE_PENDING'],
  CANCEL_PENDING: ['CANCEL_IN_PROGRESS', 'CANCEL_FAILED', 'INACTIVE'],
  CANCEL_IN_PROGRESS: ['INACTIVE', 'CANCEL_FAILED'],
  CANCEL_FAILED: ['DELETE_PENDING'],
  DELETE_PENDING: ['DELETE_IN_PROGRESS', 'DELETE_FAILED'],
  DELETE_IN_PROGRESS: ['INACTIVE', 'DELETE_FAILED'],
  DELETE_FAILED: ['DELETE_PENDING'],
  INACTIVE: [],
};

export function canTransition(from: TrainedModelStatus, to: TrainedModelStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses in which a run holds (or waits for) capacity: they count against quotas. */
export const RUNNING_STATUSES: readonly TrainedModelStatus[] = ['CREATE_PENDING', 'CREATE_IN_PROGRESS'];

/** Statuses a run can still be cancelled from. */
export const CANCELLABLE_STATUSES: readonly TrainedModelStatus[] = ['CREATE_PENDING', 'CREATE_IN_PROGRESS'];

/** Statuses whose output can be deleted. */
export const FINISHED_STATUSES: readonly TrainedModelStatus[] = ['ACTIVE', 'CREATE_FAILED', 'CANCEL_FAILED', 'DELETE_FAILED'];

export function isTerminal(s: TrainedModelStatus): boolean {
  return s === 'ACTIVE' || s === 'CREATE_FAILED' || s === 'INACTIVE' || s === 'CANCEL_FAILED' || s === 'DELETE_FAILED';
}

/** Statuses in which some process must still be working on a trained model: every one that is not terminal. */
export const UNFINISHED_STATUSES: readonly TrainedModelStatus[] = (Object.keys(TRANSITIONS) as TrainedModelStatus[]).filter((s) => !isTerminal(s));
