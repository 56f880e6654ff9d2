import { describe, expect, it } from 'vitest';
import { kebabName } from '../../src/cli/names.js';
import { formatAwsJson } from '../../src/cli/aws-json.js';

describe('CLI names and output', () => {
  it.each([
    ['CreateMLInputChannel', 'create-ml-input-channel'],
    ['GetCollaborationConfiguredModelAlgorithmAssociation', 'get-collaboration-configured-model-algorithm-association'],
    ['volumeSizeInGB', 'volume-size-in-gb'],
    ['mlInputChannelArn', 'ml-input-channel-arn'],
    ['maxRuntimeInSeconds', 'max-runtime-in-seconds'],
    ['DeleteMLConfiguration', 'delete-ml-configuration'],
  ])('names %s as the AWS CLI does: %s', (name, expected) => {
    expect(kebabName(name)).toBe(expected);
  });

  it('prints timestamps as the AWS CLI does', () => {
    const text = formatAwsJson({ createTime: new Date('2024-05-01T12:00:00.123Z'), updateTime: new Date('2024-05-01T12:00:00Z'), name: '2024-05-01T12:00:00Z' });
    expect(JSON.parse(text)).toEqual({
      createTime: '2024-05-01T12:00:00.123000+00:00',
      updateTime: '2024-05-01T12:00:00+00:00',
      name: '2024-05-01T12:00:00Z',
    });
    expect(text).toContain('\n    "createTime"');
  });
});
