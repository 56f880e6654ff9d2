import { describe, expect, it } from 'vitest';
import { assertImageUri } from '../../src/api/image-uri.js';

describe('assertImageUri', () => {
  it('accepts the forms contract §2 names', () => {
    expect(assertImageUri('my-algo:dev', 'imageUri')).toMatchObject({ repository: 'my-algo', tag: 'dev' });
    expect(assertImageUri('123456789012.dkr.ecr.us-east-1.amazonaws.com/algo@sha256:' + 'a'.repeat(64), 'imageUri')).toMatchObject({
      registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com',
      digest: 'sha256:' + 'a'.repeat(64),
    });
  });

  it('refuses a malformed one with a ValidationException naming the member', () => {
    expect(() => assertImageUri('UPPER/case:x', 'trainingContainerConfig.imageUri')).toThrow(
      /^1 validation error detected: Value 'UPPER\/case:x' at 'trainingContainerConfig.imageUri' failed to satisfy constraint: Member is not a valid image reference/,
    );
    expect(() => assertImageUri('algo@sha256:short', 'trainingContainerConfig.imageUri')).toThrow(/digest/);
  });
});
