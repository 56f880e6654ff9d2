import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { defaultSettings, settingsFromEnv } from '../../src/settings.js';
import { createDefaultRunner } from '../../src/runner/default-runner.js';

describe('CRML_ENGINE and what a swarm placement needs', () => {
  it('reads CRML_ENGINE and CRML_SWARM_PLACEMENT_TIMEOUT_SECONDS, and names the accepted values of a wrong one', () => {
    expect(settingsFromEnv({}).placement).toBe('docker');
    const s = settingsFromEnv({ CRML_ENGINE: 'swarm', CRML_SWARM_PLACEMENT_TIMEOUT_SECONDS: '30' });
    expect(s.placement).toBe('swarm');
    expect(s.swarmPlacementTimeoutMs).toBe(30_000);
    expect(() => settingsFromEnv({ CRML_ENGINE: 'k8s' })).toThrow("Expected CRML_ENGINE to be 'docker' or 'swarm', got 'k8s'.");
  });

  it('refuses to start without DOCKER_HOST, or with an engine that is not a swarm manager, saying why', async () => {
    const logger = pino({ level: 'silent' });
    await expect(createDefaultRunner({ settings: defaultSettings({ placement: 'swarm' }), logger })).rejects.toThrow(
      'CRML_ENGINE=swarm needs DOCKER_HOST to name a manager of the swarm',
    );
    // The host's own engine is not in a swarm (only asked for its info).
    await expect(
      createDefaultRunner({ settings: defaultSettings({ placement: 'swarm', engine: { dockerHost: 'unix:///var/run/docker.sock' } }), logger }),
    ).rejects.toThrow(/the engine at unix:\/\/\/var\/run\/docker.sock is not in a swarm \(inactive\)/);
  });
});
