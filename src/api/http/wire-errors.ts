/**
 * Errors of the protocol layer itself (not of an operation), shaped as AWS sends them so botocore and
 * the AWS CLI parse them: a status, `x-amzn-ErrorType`, and `{"message"}`.
 */
export class WireError extends Error {
  constructor(
    override readonly name: string,
    readonly httpStatusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export const wireErrors = {
  unknownOperation: (method: string, path: string) =>
    new WireError('UnknownOperationException', 404, `No Clean Rooms ML training operation is served at ${method} ${path} by cleanrooms-ml-local.`),
  methodNotAllowed: (method: string, path: string, allowed: string[]) =>
    new WireError('MethodNotAllowedException', 405, `${method} is not allowed on ${path}; use ${allowed.join(' or ')}.`),
  serialization: (detail: string) => new WireError('SerializationException', 400, detail),
  tooLarge: (limit: number) => new WireError('RequestEntityTooLargeException', 413, `The request body is larger than ${limit} bytes.`),
  missingAuthentication: () =>
    new WireError('MissingAuthenticationTokenException', 403, 'Request is missing Authentication Token'),
  unrecognizedClient: () => new WireError('UnrecognizedClientException', 403, 'The security token included in the request is invalid.'),
  invalidSignature: (detail: string) =>
    new WireError(
      'InvalidSignatureException',
      403,
      `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. ${detail}`.trim(),
    ),
  expired: () => new WireError('InvalidSignatureException', 403, 'Signature expired: the request time is more than 15 minutes away from the server time.'),
};
