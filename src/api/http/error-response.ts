import { CleanRoomsMLServiceException } from '../generated/errors.js';
import { structureOf, type ProtocolModel } from './protocol-model.js';
import { serializeStructure, type WireResponse } from './response-serializer.js';
import { WireError } from './wire-errors.js';

/** What went out for a failure: the response, and whether it was our fault (logged as an error). */
export interface ErrorAnswer {
  response: WireResponse;
  name: string;
  unexpected: boolean;
}

/**
 * An error as AWS's REST-JSON services send it: the error shape's HTTP status, `x-amzn-ErrorType: <Name>`
 * (what botocore reads the code from) and a JSON body with `__type`, `message` and the shape's other members.
 * Anything that is not a modelled or protocol error becomes a 500 InternalServiceException that names the
 * request id, so the details stay in our log and out of the answer.
 */
export function errorResponse(model: ProtocolModel, e: unknown, requestId: string): ErrorAnswer {
  let name = 'InternalServiceException';
  let status = 500;
  let message = `cleanrooms-ml-local failed to answer this request (request id ${requestId}); its log has the details.`;
  let fields: Record<string, unknown> = {};
  const known = e instanceof CleanRoomsMLServiceException || e instanceof WireError;
  if (known) {
    name = e.name;
    status = e.httpStatusCode;
    message = e.message;
    fields = { ...(e as unknown as Record<string, unknown>) };
  }
  const rendered = serializeStructure(model, structureOf(model, name), { ...fields, message }, status);
  return {
    name,
    unexpected: !known,
    response: {
      status,
      headers: { ...rendered.headers, 'x-amzn-ErrorType': name },
      body: { __type: name, ...rendered.body, message },
    },
  };
}
