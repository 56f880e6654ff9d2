import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's boto3 and AWS CLI predate Clean Rooms ML: AWS_DATA_PATH gives them its model. */
export const AWS_MODEL_DIR = process.env.CRML_AWS_MODEL_DIR ?? join(import.meta.dirname, '../../../shared/aws-model');

export function awsEnv(credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_DATA_PATH: AWS_MODEL_DIR,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real AWS CLI (Debian's /usr/bin/aws) against an endpoint. */
export async function awsCli(endpoint: string, args: string[], env = awsEnv()): Promise<CliResult> {
  try {
    const r = await run('/usr/bin/aws', ['--endpoint-url', endpoint, '--output', 'json', 'cleanroomsml', ...args], { env, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** A Python script run with Debian's python3 (which has boto3), its last stdout line parsed as JSON. */
export async function boto3Script(script: string, args: string[], env = awsEnv()): Promise<unknown> {
  const r = await run('/usr/bin/python3', [script, ...args], { env, timeout: 180_000 });
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last);
}
