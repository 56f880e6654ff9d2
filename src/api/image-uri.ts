import { ValidationException } from './generated/errors.js';
import { ImageReferenceError, parseImageReference, type ImageReference } from '../runner/image-reference.js';

/** A malformed image reference is refused when the algorithm is created, not minutes later at pull time. */
export function assertImageUri(uri: string, member: string): ImageReference {
  try {
    return parseImageReference(uri);
  } catch (e) {
    if (!(e instanceof ImageReferenceError)) throw e;
    throw new ValidationException(
      `1 validation error detected: Value '${uri}' at '${member}' failed to satisfy constraint: ${e.message.replace(/^'[^']*' is not/, 'Member is not')}`,
    );
  }
}
