/**
 * Errors as the Open Inference Protocol answers them: a JSON body `{"error": "..."}` and a
 * status code per kind of failure. The library's typed errors map by class; Fastify's own
 * (bad JSON, schema, body too large) by the status code they carry. Anything else is a bug
 * on our side: a 500 whose body names the request id, with the details in the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthError, ConflictError, DatasetError, InputError, LimitError, ModelFormatError, NotFoundError, OptionError, TrmError, UnavailableError,
} from '../errors';

export function statusOf(error: unknown): number {
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof UnavailableError) return 503;
  if (error instanceof LimitError) return 413;
  if (error instanceof AuthError) return 401;
  if (error instanceof InputError || error instanceof OptionError || error instanceof ModelFormatError || error instanceof DatasetError) return 400;
  const code = (error as FastifyError | undefined)?.statusCode;
  if (typeof code === 'number' && code >= 400 && code < 500) return code;
  return 500;
}

function fastifyMessage(error: FastifyError): string {
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) return `the body is not valid JSON (${error.message})`;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return `the body is larger than the server's limit (${error.message})`;
  if (error.validation) return `invalid request: ${error.message}`;
  return error.message;
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = statusOf(error);
  if (status >= 500 && !(error instanceof UnavailableError)) {
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: `internal error (request ${request.id}); the server log has the details` });
  }
  if (error instanceof UnavailableError) reply.header('Retry-After', String(error.retryAfterSeconds));
  if (error instanceof AuthError) reply.header('WWW-Authenticate', 'Bearer');
  const message = error instanceof TrmError ? `${error.name}: ${error.message}` : fastifyMessage(error as FastifyError);
  return reply.code(status).send({ error: message });
}
