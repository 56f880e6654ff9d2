import { ValidationException } from './generated/errors.js';

/**
 * The grammar of an image reference as the Docker distribution spec defines it:
 * [host[:port]/]path[:tag][@algorithm:hex]. A malformed reference is refused when the algorithm is
 * created, not minutes later at pull time.
 */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?';
const REFERENCE = new RegExp(
  `^(?:(${HOST})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

export interface ImageReference {
  /** Registry host when the reference names one (a first component with a dot, a colon, or 'localhost'). */
  registry?: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export function parseImageUri(uri: string): ImageReference | undefined {
  const m = REFERENCE.exec(uri);
  if (!m) return undefined;
  const [, , , tag, digest] = m;
  let [, host, path] = m;
  // "a/b" is a Docker Hub path, not host "a": a host must look like one.
  if (host && !/[.:]|^localhost$|^\[/.test(host)) {
    path = `${host}/${path}`;
    host = undefined;
  }
  if (host === undefined && path && path !== path.toLowerCase()) return undefined;
  return { registry: host, repository: path!, tag, digest };
}

export function assertImageUri(uri: string, member: string): ImageReference {
  const ref = parseImageUri(uri);
  if (!ref) {
    throw new ValidationException(
      `1 validation error detected: Value '${uri}' at '${member}' failed to satisfy constraint: Member must be an image reference of the form registry/repository[:tag] or registry/repository@sha256:<digest>`,
    );
  }
  return ref;
}
