import { describe, expect, it } from 'vitest';
import { checkArtifactSize, maxArtifactBytes } from '../../src/privacy/artifact-policy.js';

const GiB = 1024 ** 3;

describe('checkArtifactSize', () => {
  it('passes anything when the association sets no maxArtifactSize', () => {
    expect(checkArtifactSize(500 * GiB, undefined)).toBeUndefined();
  });

  it('passes artifacts up to and including the limit', () => {
    expect(checkArtifactSize(0, { unit: 'GB', value: 0.01 })).toBeUndefined();
    expect(checkArtifactSize(GiB, { unit: 'GB', value: 1 })).toBeUndefined();
    expect(maxArtifactBytes({ unit: 'GB', value: 0.01 })).toBe(Math.floor(0.01 * GiB));
  });

  it('fails artifacts over the limit with a message naming sizes and the policy', () => {
    expect(checkArtifactSize(GiB + 1, { unit: 'GB', value: 1 })).toBe(
      `The trained model's artifacts are 1.00 GB (${GiB + 1} bytes), more than the association's ` +
        `privacyConfiguration.policies.trainedModels.maxArtifactSize of 1 GB (${GiB} bytes).`,
    );
    expect(checkArtifactSize(20 * 1024 * 1024, { unit: 'GB', value: 0.01 })).toBe(
      `The trained model's artifacts are 0.02 GB (20971520 bytes), more than the association's ` +
        `privacyConfiguration.policies.trainedModels.maxArtifactSize of 0.01 GB (10737418 bytes).`,
    );
  });
});
