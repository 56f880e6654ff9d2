import { describe, expect, it } from 'vitest';
import { createEngine, discoverEngine, engineStrategies, type EngineStrategy } from '../../src/runner/engine-discovery.js';

/** The dockerode options an engine was made with (what it will connect with). */
function sshAgentOf(engine: unknown): unknown {
  return (engine as { docker: { modem: { sshOptions: { agent?: string } } } }).docker.modem.sshOptions.agent;
}

describe('engine discovery takes its environment from the edge', () => {
  it("gives an ssh:// engine the ssh agent it is handed, not this process's SSH_AUTH_SOCK", () => {
    const before = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = '/tmp/not-the-one.sock';
    try {
      expect(sshAgentOf(createEngine('ssh://me@build-box', { SSH_AUTH_SOCK: '/tmp/agent.sock' }))).toBe('/tmp/agent.sock');
      const viaStrategy = engineStrategies({ DOCKER_HOST: 'ssh://me@build-box', SSH_AUTH_SOCK: '/tmp/agent.sock' })[0]!.create();
      expect(sshAgentOf(viaStrategy)).toBe('/tmp/agent.sock');
    } finally {
      if (before === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = before;
    }
  });

  it('never falls back from a strategy flagged explicit, whatever its name', async () => {
    const chosen: EngineStrategy = { name: 'the engine I asked for', explicit: true, applies: () => true, create: () => createEngine('tcp://127.0.0.1:9') };
    const fallback = engineStrategies({})[1]!; // the default Docker socket, which answers on this machine
    await expect(discoverEngine({}, [chosen, fallback])).rejects.toThrow(/^No container engine answers: the engine I asked for \(tcp:\/\/127\.0\.0\.1:9\)/);
    // Without the flag, the next engine that answers is used.
    await expect(discoverEngine({}, [{ ...chosen, explicit: false }, fallback])).resolves.toMatchObject({ endpoint: 'unix:///var/run/docker.sock' });
    expect(engineStrategies({ DOCKER_HOST: 'tcp://127.0.0.1:9' }).filter((s) => s.explicit).map((s) => s.name)).toEqual(['DOCKER_HOST']);
  });
});
