import { describe, expect, it } from 'vitest';
import { encodeRegistryAuth, parseEcrRegistryHost, registryHostKey } from '../../src/runner/registry-auth/index.js';

// Host forms from AWS's "Making requests to Amazon ECR registries" and "Amazon ECR private registries".
describe('ECR registry hosts', () => {
  it('reads account and region from every documented form', () => {
    expect(parseEcrRegistryHost('123456789012.dkr.ecr.us-east-1.amazonaws.com')).toEqual({
      accountId: '123456789012', region: 'us-east-1', fips: false, dualStack: false,
    });
    expect(parseEcrRegistryHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')).toEqual({
      accountId: '123456789012', region: 'us-gov-west-1', fips: true, dualStack: false,
    });
    expect(parseEcrRegistryHost('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn')).toEqual({
      accountId: '123456789012', region: 'cn-north-1', fips: false, dualStack: false,
    });
    expect(parseEcrRegistryHost('123456789012.dkr-ecr.eu-west-3.on.aws')).toEqual({
      accountId: '123456789012', region: 'eu-west-3', fips: false, dualStack: true,
    });
    expect(parseEcrRegistryHost('123456789012.dkr.ecr.ap-southeast-2.amazonaws.com:443')?.region).toBe('ap-southeast-2');
  });

  it('leaves other registries alone', () => {
    for (const host of [
      '127.0.0.1:5000',
      'public.ecr.aws',
      'ghcr.io',
      '12345678901.dkr.ecr.us-east-1.amazonaws.com', // 11 digits
      '123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example',
      'evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com',
    ]) {
      expect(parseEcrRegistryHost(host), host).toBeUndefined();
    }
  });
});

describe('registry keys of the Docker config', () => {
  it('compares hosts, URLs and the several names of Docker Hub as one', () => {
    expect(registryHostKey('https://index.docker.io/v1/')).toBe('docker.io');
    expect(registryHostKey('registry-1.docker.io')).toBe('docker.io');
    expect(registryHostKey('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
    expect(registryHostKey('GHCR.io')).toBe('ghcr.io');
  });
});

describe('encodeRegistryAuth', () => {
  it('is base64url with its = padding, which the engine needs to use the credentials', () => {
    // This JSON's plain base64 has '+', '/' and '==' in it.
    const auth = { username: 'u', password: '>>>??', serveraddress: 'h' };
    const encoded = encodeRegistryAuth(auth);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+=+$/);
    expect(JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'))).toEqual(auth);
  });
});
