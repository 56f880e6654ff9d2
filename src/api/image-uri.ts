import { validationException } from './validation.js';
import { ImageReferenceError, parseImageReference, type ImageReference } from '../runner/image-reference.js';

/** A malformed image reference is refused when the algorithm is created, not minutes later at pull time. */
export function assertImageUri(uri: string, member: string): ImageReference {
  try {
    return parseImageReference(uri);
  } catch (e) {
    if (!(e instanceof ImageReferenceError)) throw e;
    throw validationException([{ path: member, value: uri, constraint: e.message.replace(/^'[^']*' is not/, 'Member is not') }]);
  }
}
