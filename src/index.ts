export { CleanRoomsMLLocal, type CleanRoomsMLLocalOptions, type CreateMLInputChannelInput } from './api/service.js';
export { Store } from './api/store.js';
export { defaultSettings, settingsFromEnv, SettingsError, type Settings } from './settings.js';
export * from './api/generated/errors.js';
export type * from './api/generated/types.js';
export type { LocalDataSource } from './api/operations/ml-input-channels.js';
export type { TrainingRunner, TrainingJobSpec, RunResult, RunEvents } from './runner/types.js';
export type { TrainInput, TrainResult, TrainProgress, TrainChannel, TrainBuild } from './api/train.js';
