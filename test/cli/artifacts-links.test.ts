import { describe, expect, it } from 'vitest';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScriptedRunner } from '../helpers/fake-runner.js';
import { MEMBERSHIP, tempService, trainingSetup, waitForStatus } from '../helpers/fixtures.js';
import { copyArtifacts } from '../../src/cli/commands/artifacts.js';

describe('crml artifacts --to DIR', () => {
  it('never follows a link planted in DIR: the link is replaced, its target stays untouched', async () => {
    const runner = new ScriptedRunner(async (spec) => {
      // What the run leaves: a model and a manifest (the scripted runner adds model.tar.gz, empty).
      writeFileSync(join(spec.artifactsDir, 'manifest.json'), '{"succeeded":true}');
      return {};
    });
    await using service = tempService({ runner });
    const { configuredModelAlgorithmAssociationArn, mlInputChannelArn } = await trainingSetup(service);
    const { trainedModelArn } = await service.createTrainedModel({
      membershipIdentifier: MEMBERSHIP, name: 'linked', configuredModelAlgorithmAssociationArn,
      resourceConfig: { instanceType: 'ml.m5.large', volumeSizeInGB: 1 },
      dataChannels: [{ channelName: 'train', mlInputChannelArn }],
    });
    await waitForStatus(service, trainedModelArn);

    const dir = mkdtempSync(join(tmpdir(), 'crml-artifacts-'));
    try {
      const victim = join(dir, 'victim.txt');
      writeFileSync(victim, 'precious');
      symlinkSync(victim, join(dir, 'manifest.json'));
      symlinkSync(join(dir, 'nowhere', 'new-file'), join(dir, 'model.tar.gz')); // a dangling link would create its target

      const copied = await copyArtifacts(service, trainedModelArn, { to: dir });
      expect(copied.sort()).toEqual([join(dir, 'manifest.json'), join(dir, 'model.tar.gz')]);
      expect(readFileSync(victim, 'utf8')).toBe('precious');
      expect(lstatSync(join(dir, 'manifest.json')).isSymbolicLink()).toBe(false);
      expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe('{"succeeded":true}');
      expect(lstatSync(join(dir, 'model.tar.gz')).isFile()).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'model.tar.gz', 'victim.txt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
