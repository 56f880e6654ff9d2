/** A mistake in how the CLI was called (not a service error): exit code 252, as the AWS CLI uses. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
