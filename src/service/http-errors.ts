import { QueryParameterError } from '../alerts/query-parameter-error.js';
import { WebhookValidationError } from '../alerts/webhook-validation.js';
import { CircuitOpenError } from '../errors/circuit-open-error.js';
import { classifyError } from '../resilience/classify-error.js';

/** How the service answers an error: status, JSON body, extra headers, and whether to log it as a failure. */
export interface ErrorAnswer {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string>>;
  /** `unavailable`: the database (503, logged at warn); `internal`: a bug or an unknown failure (500, logged at error); `client`: the request's fault (4xx). */
  readonly category: 'client' | 'unavailable' | 'internal';
}

/** Kinds of `classifyError` that mean "the database cannot serve now; try again later". */
const UNAVAILABLE_KINDS: ReadonlySet<string> = new Set(['connection', 'closed', 'timeout', 'resources']);

/** Default `Retry-After` of a 503, in seconds, when nothing tells how long to wait. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * The HTTP name of a repository parameter: `labels[2]` (and `labels[2].value`) → `label`,
 * `bucketMs` → `bucket`, `window.from` → `from`, `window.to` → `to`; other names are the same in
 * the query string.
 */
export function httpParameterName(parameter: string): string {
  if (parameter === 'labels' || parameter.startsWith('labels[')) return 'label';
  if (parameter === 'bucketMs') return 'bucket';
  if (parameter === 'window.from') return 'from';
  if (parameter === 'window.to') return 'to';
  return parameter;
}

/** A client error raised by fastify itself (unparsable body, wrong media type, body too large…). */
function fastifyClientError(error: unknown): { readonly status: number; readonly code: string; readonly message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { statusCode, code } = error as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  return { status: statusCode, code: typeof code === 'string' ? code : '', message: error.message };
}

/** What a fastify client error's body says: its own message, made explicit where fastify's is terse. */
function clientMessage(code: string, message: string, contentType: string | undefined, bodyLimitBytes: number): string {
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `Content-Type must be application/json (got ${contentType === undefined || contentType === '' ? 'none' : JSON.stringify(contentType.slice(0, 100))})`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than the limit of ${bodyLimitBytes} bytes (BODY_LIMIT_BYTES)`;
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'request body is not valid JSON';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty; an Alertmanager webhook (JSON) was expected';
    default:
      return message;
  }
}

/** The request facts an answer may quote. */
export interface ErrorContext {
  readonly contentType: string | undefined;
  readonly bodyLimitBytes: number;
}

/**
 * Maps anything a route threw to an answer:
 * - `WebhookValidationError` → 400 `{ error, problems }`;
 * - `QueryParameterError` → 400 `{ error, parameter }` (the parameter's HTTP name);
 * - fastify's own 4xx (415 wrong media type, 400 invalid or empty JSON, 413 body too large with
 *   `Connection: close`) → that status, `{ error }`;
 * - the database unavailable → 503 `{ error }` with `Retry-After` (seconds): an open circuit breaker
 *   (its `retryAfterMs`), and whatever `classifyError` calls `connection` (refused or lost
 *   connections, 57P01, 57P03, 53300, class 08), `closed` (the pool), `timeout` (acquire timeout,
 *   statement timeout) or `resources` (class 53: disk full, out of memory);
 * - anything else → 500 `{ error: 'internal server error' }` (details are for the log only).
 */
export function answerFor(error: unknown, context: ErrorContext): ErrorAnswer {
  if (error instanceof WebhookValidationError) {
    return { status: 400, body: { error: 'invalid Alertmanager webhook', problems: error.problems }, headers: {}, category: 'client' };
  }
  if (error instanceof QueryParameterError) {
    const parameter = httpParameterName(error.parameter);
    return { status: 400, body: { error: `invalid query parameter ${parameter}: ${error.reason}`, parameter }, headers: {}, category: 'client' };
  }
  const client = fastifyClientError(error);
  if (client !== undefined) {
    return {
      status: client.status,
      body: { error: clientMessage(client.code, client.message, context.contentType, context.bodyLimitBytes) },
      // the rest of a too-large body is not read: close the connection rather than drain it
      headers: client.status === 413 ? { connection: 'close' } : {},
      category: 'client',
    };
  }
  if (error instanceof CircuitOpenError) {
    return unavailable(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  }
  if (UNAVAILABLE_KINDS.has(classifyError(error).kind)) return unavailable(DEFAULT_RETRY_AFTER_SECONDS);
  return { status: 500, body: { error: 'internal server error' }, headers: {}, category: 'internal' };
}

function unavailable(retryAfterSeconds: number): ErrorAnswer {
  return {
    status: 503,
    body: { error: 'the database is unavailable; try again later', retryAfterSeconds },
    headers: { 'retry-after': String(retryAfterSeconds) },
    category: 'unavailable',
  };
}
