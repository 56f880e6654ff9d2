import { describe, expect, it } from 'vitest';
import { parseImageUri } from '../../src/api/image-uri.js';

const digest = 'sha256:' + '0123456789abcdef'.repeat(4);

describe('parseImageUri', () => {
  it.each([
    ['my-algo:dev', { repository: 'my-algo', tag: 'dev' }],
    ['crml-examples/probe:latest', { repository: 'crml-examples/probe', tag: 'latest' }],
    ['127.0.0.1:5000/team/algo:1.0', { registry: '127.0.0.1:5000', repository: 'team/algo', tag: '1.0' }],
    ['localhost/algo', { registry: 'localhost', repository: 'algo' }],
    [
      '123456789012.dkr.ecr.us-east-1.amazonaws.com/algo@' + digest,
      { registry: '123456789012.dkr.ecr.us-east-1.amazonaws.com', repository: 'algo', digest },
    ],
    ['registry.example.com:443/a/b:t@' + digest, { registry: 'registry.example.com:443', repository: 'a/b', tag: 't', digest }],
  ])('reads %s', (uri, expected) => {
    expect(parseImageUri(uri)).toEqual({ registry: undefined, tag: undefined, digest: undefined, ...expected });
  });

  it.each(['', 'UPPER/case', 'algo:', 'algo@sha256:short', 'a//b', 'algo:tag with space', ':tag', 'algo@md5:' + 'a'.repeat(32)])(
    'refuses %j',
    (uri) => {
      expect(parseImageUri(uri)).toBeUndefined();
    },
  );
});
