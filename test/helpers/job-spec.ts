import type { TrainingJobSpec } from '../../src/runner/types.js';

/**
 * A TrainingJobSpec for the probe image with the contract's defaults (one ml.m5.large, 1 GB, 300 s, File, no
 * channels): a test names only what it is about.
 */
export function probeJobSpec(over: Partial<TrainingJobSpec> & Pick<TrainingJobSpec, 'trainedModelArn' | 'name' | 'artifactsDir'>): TrainingJobSpec {
  return {
    membershipIdentifier: '00000000-0000-4000-8000-000000000001',
    imageUri: 'crml-examples/probe:latest',
    metricDefinitions: [],
    hyperparameters: {},
    environment: {},
    instanceType: 'ml.m5.large',
    instanceCount: 1,
    volumeSizeInGB: 1,
    maxRuntimeInSeconds: 300,
    trainingInputMode: 'File',
    channels: [],
    ...over,
  };
}

/** One frame of the engine's multiplexed log stream: an 8-byte header (stream 1 stdout, 2 stderr, length), then the text. */
export function engineFrame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
