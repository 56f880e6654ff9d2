/**
 * Image references as `docker run` reads them: `[registry/]repository[:tag][@sha256:<hex>]`. A first path
 * component is a registry host only when it looks like one (has a `.` or `:`, or is `localhost`); otherwise
 * the name is a local image or a Docker Hub one (`my-algo:dev`, `team/algo`).
 */
export interface ImageReference {
  /** Registry host[:port], when the reference names one. */
  registry?: string;
  /** Path inside the registry (`team/algo`), or the bare local name (`my-algo`). */
  repository: string;
  tag?: string;
  /** `sha256:<64 hex>` when the reference pins a digest. */
  digest?: string;
}

export class ImageReferenceError extends Error {
  override readonly name = 'ImageReferenceError';
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;
const TAG = /^\w[\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function parseImageReference(reference: string): ImageReference {
  const bad = (why: string) => new ImageReferenceError(`'${reference}' is not a valid image reference: ${why}.`);
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad('the digest must be sha256: followed by 64 lowercase hex digits');
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`the tag '${tag}' is malformed`);
  }
  const parts = rest.split('/');
  let registry: string | undefined;
  if (parts.length > 1 && /[.:]|^localhost$|^\[/.test(parts[0]!)) {
    registry = parts.shift();
    if (!HOST.test(registry!)) throw bad(`'${registry}' is not a registry host`);
  }
  if (parts.length === 0 || !parts.every((p) => COMPONENT.test(p))) {
    throw bad('the repository must be lowercase letters, digits and separators (., _, __, -) between slashes');
  }
  return { registry, repository: parts.join('/'), tag, digest };
}

/** The reference as the engine is asked for it: a digest pins it, a missing tag means `latest`. */
export function engineReference(ref: ImageReference): string {
  const repo = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  return ref.digest ? `${repo}@${ref.digest}` : `${repo}:${ref.tag ?? 'latest'}`;
}

/** The fully qualified repository: Docker Hub's implicit names made explicit (`algo` → `docker.io/library/algo`). */
export function canonicalRepository(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  const hub = !ref.registry || ref.registry === 'docker.io' || ref.registry === 'index.docker.io';
  if (!hub) return `${ref.registry}/${ref.repository}`;
  return ref.repository.includes('/') ? `docker.io/${ref.repository}` : `docker.io/library/${ref.repository}`;
}

/** The repository part of a RepoDigests entry (`host/repo@sha256:…`), canonical; undefined when unparseable. */
export function repositoryOfRepoDigest(repoDigest: string): string | undefined {
  const at = repoDigest.indexOf('@');
  if (at < 0) return undefined;
  try {
    return canonicalRepository(parseImageReference(repoDigest.slice(0, at)));
  } catch {
    return undefined;
  }
}
