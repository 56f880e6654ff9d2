import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { DockerConfigError } from './registry-auth-errors.js';

/** The parts of Docker's config.json that hold registry credentials; everything else in it is left alone. */
export const DockerConfigSchema = z.looseObject({
  auths: z
    .record(
      z.string(),
      z.looseObject({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
        registrytoken: z.string().optional(),
      }),
    )
    .optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});

export type DockerConfig = z.infer<typeof DockerConfigSchema>;
export type DockerConfigAuthEntry = NonNullable<DockerConfig['auths']>[string];

/** The config at `path`, or undefined when there is none. Read at every call: `docker login` may change it any time. */
export async function readDockerConfig(path: string, registryHost: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DockerConfigError(`Could not read the Docker config ${path}: ${(e as Error).message}.`, registryHost, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DockerConfigError(`The Docker config ${path} is not valid JSON: fix or remove it.`, registryHost, { cause: e });
  }
  const parsed = DockerConfigSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(top level)').join(', ');
    throw new DockerConfigError(`The Docker config ${path} has entries of the wrong type at ${where}.`, registryHost, { cause: parsed.error });
  }
  return parsed.data;
}
