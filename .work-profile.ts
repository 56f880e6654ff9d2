import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CleanRoomsMLLocal } from './src/api/service.js';
import { discoverEngine } from './src/runner/engine-discovery.js';
import { DockerTrainingRunner } from './src/runner/docker-training-runner.js';
import { defaultSettings } from "./src/settings.js";
import { DEFAULT_MEMBERSHIP_ID } from './src/settings.js';

const dataDir = mkdtempSync(join(tmpdir(), 'prof-'));
const empty = mkdtempSync(join(tmpdir(), 'prof-empty-'));
const engine0 = await discoverEngine({});
let t0 = 0;
const calls: string[] = [];
const engine = new Proxy(engine0 as any, {
  get(target, prop) {
    const v = target[prop];
    if (typeof v !== 'function') return v;
    return (...args: any[]) => {
      const s = performance.now();
      const r = v.apply(target, args);
      if (r && typeof r.then === 'function') r.then(() => calls.push(`${(s - t0).toFixed(1).padStart(7)} +${(performance.now() - s).toFixed(1).padStart(6)} ${String(prop)}`), () => calls.push(`${(s-t0).toFixed(1)} ERR ${String(prop)}`));
      else calls.push(`${(s - t0).toFixed(1).padStart(7)} sync ${String(prop)}`);
      return r;
    };
  },
});
const logger = pino({ level: 'warn' });
const settings = defaultSettings({ dataDir });
const runner = new DockerTrainingRunner({ engine, settings, logger } as any);
const service = new CleanRoomsMLLocal({ settings: { dataDir }, runner, logger });
const ROLE = 'arn:aws:iam::123456789012:role/r';
const { configuredModelAlgorithmArn } = await service.createConfiguredModelAlgorithm({ name: 'b', roleArn: ROLE, trainingContainerConfig: { imageUri: 'crml-examples/probe:latest', entrypoint: ['/bin/true'] } });
const { configuredModelAlgorithmAssociationArn } = await service.createConfiguredModelAlgorithmAssociation({ membershipIdentifier: DEFAULT_MEMBERSHIP_ID, configuredModelAlgorithmArn, name: 'b' });
const { mlInputChannelArn } = await service.createMLInputChannel({ membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: 'e', retentionInDays: 1, configuredModelAlgorithmAssociations: [configuredModelAlgorithmAssociationArn], inputChannel: { roleArn: ROLE, dataSource: { localDataSource: { path: empty } } } });
for (let i = 0; i < 6; i++) {
  calls.length = 0;
  t0 = performance.now();
  const { trainedModelArn } = await service.createTrainedModel({ membershipIdentifier: DEFAULT_MEMBERSHIP_ID, name: `n${i}`, configuredModelAlgorithmAssociationArn, resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 }, dataChannels: [{ channelName: 'train', mlInputChannelArn }] });
  const tc = performance.now() - t0;
  await service.waitForRuns(trainedModelArn);
  const total = performance.now() - t0;
  const st = service.trainedModels.get(trainedModelArn)?.body.status;
  console.log(`run ${i}: create ${tc.toFixed(1)} total ${total.toFixed(1)} ${st}`);
  if (i >= 4) console.log(calls.join('\n'));
}
await service.close();
