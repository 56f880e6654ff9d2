/**
 * Errors of the protocol layer itself (not of an operation), named and numbered as AWS front ends answer them,
 * so botocore and the AWS CLI report them like any other service error.
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
    new WireError('UnknownOperationException', 404, `No Clean Rooms ML operation is served at ${method} ${path}.`),
  methodNotAllowed: (method: string, path: string, allowed: string[]) =>
    new WireError('MethodNotAllowedException', 405, `${method} is not allowed on ${path}; this path answers ${allowed.join(', ')}.`),
  /**
   * An operation of the model that is not about custom-model training, inference or export. 501 says "not here" without
   * inviting a retry (botocore retries 500, 502, 503 and 504 only).
   */
  notImplemented: (operation: string) =>
    new WireError(
      'NotImplementedException',
      501,
      `cleanrooms-ml-local implements the custom-model training, inference and export operations of Clean Rooms ML only; ${operation} is not implemented.`,
    ),
  /** Smithy's restJson1 malformed-request rules: a body that is not JSON is a 400 SerializationException. */
  serialization: (detail: string) => new WireError('SerializationException', 400, detail),
  unsupportedMediaType: (contentType: string) =>
    new WireError('UnsupportedMediaTypeException', 415, `Content-Type '${contentType}' is not supported; send application/json.`),
  tooLarge: (limit: number) => new WireError('RequestEntityTooLargeException', 413, `The request body is larger than ${limit} bytes.`),

  /** A browser's request from a foreign page or to a foreign name (see BrowserGuard in server.ts). */
  accessDenied: (detail: string) => new WireError('AccessDeniedException', 403, detail),
  missingAuthentication: () => new WireError('MissingAuthenticationTokenException', 403, 'Request is missing Authentication Token'),
  incompleteSignature: (detail: string) => new WireError('IncompleteSignatureException', 400, detail),
  unrecognizedClient: () => new WireError('UnrecognizedClientException', 403, 'The security token included in the request is invalid.'),
  invalidSignature: (detail: string) => new WireError('InvalidSignatureException', 403, detail),
  signatureMismatch: (canonicalRequest: string, stringToSign: string) =>
    new WireError(
      'InvalidSignatureException',
      403,
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.' +
        `\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
    ),
};
