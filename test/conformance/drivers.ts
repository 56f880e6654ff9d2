import { join } from 'node:path';
import { awsCli, awsEnv, boto3Script, type CliResult } from '../helpers/aws-clients.js';

/**
 * The clients nobody here wrote, pointed at any endpoint URL: the protocol probe needs an endpoint over the fake
 * service of test/api/http/fake-service.ts; the full flow needs one over the real service (and the engine).
 */
export type { CliResult };
export { awsCli, awsEnv };

export interface ClientErrorSeen {
  code: string;
  message: string;
  status: number;
  [member: string]: unknown;
}

/** What botocore parsed from the endpoint over the fake service (see protocol_probe.py). */
export interface ProbeResult {
  getStatus: number;
  requestIdLength: number;
  createTime: string;
  createTimeIsAware: boolean;
  keys: string[];
  statusDetails: unknown;
  listNextToken: string | null;
  listFirstUpdateTime: string;
  pages: number;
  createdArn: string;
  deleteOutputStatus: number;
  [error: string]: unknown;
}

export function boto3Probe(url: string, env = awsEnv()): Promise<ProbeResult> {
  return boto3Script(join(import.meta.dirname, 'protocol_probe.py'), [url], env) as Promise<ProbeResult>;
}

/** algorithm → association → channel → trained model → ACTIVE → list → tags → delete, in boto3 (see boto3_flow.py). */
export function boto3Flow(url: string, env = awsEnv()): Promise<Record<string, unknown>> {
  return boto3Script(join(import.meta.dirname, 'boto3_flow.py'), [url], env) as Promise<Record<string, unknown>>;
}
