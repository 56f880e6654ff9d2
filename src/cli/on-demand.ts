import { createRequire } from 'node:module';

/**
 * Libraries only some invocations need, loaded on first use (synchronously, through their CommonJS builds): a
 * plain `crml list-trained-models` should not pay for a YAML parser or a JMESPath compiler it never runs.
 */
const require = createRequire(import.meta.url);

let yamlModule: typeof import('yaml') | undefined;
export const yaml = (): typeof import('yaml') => (yamlModule ??= require('yaml') as typeof import('yaml'));

let jmespathModule: typeof import('jmespath') | undefined;
export const jmespath = (): typeof import('jmespath') => (jmespathModule ??= require('jmespath') as typeof import('jmespath'));
