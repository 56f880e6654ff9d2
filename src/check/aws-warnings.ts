import type { ImageInfo } from '../runner/container-engine.js';
import { parseImageReference } from '../runner/image-reference.js';
import { parseEcrRegistryHost } from '../runner/registry-auth/ecr-registry.js';
import { registryHostKey } from '../runner/registry-auth/registry-host.js';
import type { CaseTraining } from './check-case.js';

/**
 * Where a run that passes here would not pass on AWS Clean Rooms ML, which pulls training images only from ECR
 * and runs them on linux/amd64 instances.
 */

/** The image is named by something other than an ECR address (or was built here), so the service could not pull it. */
export function imageSourceWarning(training: CaseTraining, ecrMappedHosts: Record<string, unknown>): string | undefined {
  if (training.build) {
    return `the image is built here from ${training.build.context}: Clean Rooms ML pulls training images only from ECR, so push it there and give its ECR address as imageUri`;
  }
  const uri = training.imageUri;
  if (!uri) return undefined;
  let registry: string | undefined;
  try {
    registry = parseImageReference(uri).registry;
  } catch {
    return undefined; // The run itself says what is wrong with the reference.
  }
  if (registry && parseEcrRegistryHost(registry)) return undefined;
  const mapped = registry !== undefined && Object.keys(ecrMappedHosts).some((h) => registryHostKey(h) === registryHostKey(registry));
  return `the image ${uri} is not in ECR (<account>.dkr.ecr.<region>.amazonaws.com/…)${mapped ? ', though CRML_ECR_REGISTRIES treats its registry as ECR here' : ''}: Clean Rooms ML pulls training images only from ECR`;
}

/** The image's platform is not the one Clean Rooms ML's instances run. */
export function imagePlatformWarning(imageUri: string, info: Pick<ImageInfo, 'os' | 'architecture'> | undefined): string | undefined {
  if (!info?.os || !info.architecture) return undefined;
  if (info.os === 'linux' && info.architecture === 'amd64') return undefined;
  return `the image ${imageUri} is ${info.os}/${info.architecture}: Clean Rooms ML runs training containers on linux/amd64 instances`;
}

/** A metric definition that gave no value in a run, so the service would publish nothing for it either. */
export function unmatchedMetricWarnings(definitions: readonly { name: string; regex: string }[], reported: ReadonlySet<string>): string[] {
  return definitions
    .filter((d) => !reported.has(d.name))
    .map((d) => `the metric definition ${d.name} (${d.regex}) matched no log line with a number: the service would report no ${d.name} either`);
}
