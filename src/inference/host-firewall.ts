import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Keeps an inference job's containers away from this machine's services. The job's network is internal (no
 * route out) but its bridge has an address on the host, so that the runner can reach port 8080 of each
 * container: without more, a container could open connections to every service of the host at the gateway.
 * One iptables rule on the job's own bridge drops every new connection that comes from it into the host, while
 * the answers to the runner's own connections (established) still pass. Removed with the network.
 */
export interface HostFirewall {
  /** Undefined when the rule is in place; otherwise why it could not be (the job's log says so). */
  isolate(bridge: string): Promise<string | undefined>;
  release(bridge: string): Promise<void>;
}

function ruleArgs(bridge: string): string[] {
  return ['INPUT', '-i', bridge, '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', 'crml-inference', '-j', 'DROP'];
}

export class IptablesHostFirewall implements HostFirewall {
  constructor(private readonly binary = 'iptables') {}

  async isolate(bridge: string): Promise<string | undefined> {
    try {
      await run(this.binary, ['-w', '5', '-I', ...ruleArgs(bridge)], { timeout: 15_000 });
      return undefined;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      return (err.stderr?.trim() || err.message).split('\n')[0];
    }
  }

  async release(bridge: string): Promise<void> {
    // Every copy of the rule goes (a dead process may have left one with the same bridge name).
    for (let i = 0; i < 10; i++) {
      try {
        await run(this.binary, ['-w', '5', '-D', ...ruleArgs(bridge)], { timeout: 15_000 });
      } catch {
        return;
      }
    }
  }
}
