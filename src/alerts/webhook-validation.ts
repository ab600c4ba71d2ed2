import { AlertHistoryDbError } from '../errors/alert-history-db-error.js';
import type { AlertmanagerWebhook, AlertStatus, WebhookAlert } from './alert-types.js';
import { parseRfc3339 } from './rfc3339.js';

/** Most alerts one webhook may carry (Alertmanager's `max_alerts` is unlimited by default; this bounds one transaction). */
export const MAX_WEBHOOK_ALERTS = 10_000;
/** Longest fingerprint accepted (Alertmanager's are 16 hex characters). */
export const MAX_FINGERPRINT_LENGTH = 256;
/** Most problems {@link WebhookValidationError}'s message lists (its `problems` holds them all). */
const MAX_LISTED_PROBLEMS = 50;
/** Longest piece of a value a problem quotes. */
const MAX_QUOTED = 40;

/** What {@link validateWebhook} answers: the webhook, or every problem found. */
export type WebhookValidation =
  | {
      /** The body is a valid webhook. */
      readonly ok: true;
      /** The fields kept, a copy of the body's. */
      readonly value: AlertmanagerWebhook;
    }
  | {
      /** The body is not a valid webhook. */
      readonly ok: false;
      /** Every problem, in document order, each prefixed by its JSON path. */
      readonly problems: readonly string[];
    };

/**
 * A webhook body is not a valid Alertmanager webhook (version 4). {@link problems} lists every
 * problem, each prefixed by its JSON path (`alerts[1].startsAt: not an RFC 3339 time`). Nothing
 * was stored. An HTTP service answers it with 400 (Alertmanager does not retry a 4xx).
 */
export class WebhookValidationError extends AlertHistoryDbError {
  readonly kind = 'data' as const;
  /** Every problem, in document order. Values are quoted shortened, never whole. */
  readonly problems: readonly string[];

  /** @param problems the problems {@link validateWebhook} found (at least one) */
  constructor(problems: readonly string[]) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((problem) => `  - ${problem}`);
    if (problems.length > MAX_LISTED_PROBLEMS) listed.push(`  … and ${problems.length - MAX_LISTED_PROBLEMS} more (see problems)`);
    super(`invalid Alertmanager webhook (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${listed.join('\n')}`, {
      code: 'INVALID_WEBHOOK',
      retryable: false,
    });
    this.problems = Object.freeze([...problems]);
  }
}

type Json = Readonly<Record<string, unknown>>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function quote(value: string): string {
  return JSON.stringify(value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}…` : value);
}

function member(path: string, key: string): string {
  const step = IDENTIFIER.test(key) && key.length <= MAX_QUOTED ? `.${key}` : `[${quote(key)}]`;
  return path === '' ? step.replace(/^\./, '') : `${path}${step}`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Collects problems while walking the body. */
class Checker {
  readonly problems: string[] = [];

  add(path: string, message: string): void {
    this.problems.push(`${path === '' ? '(body)' : path}: ${message}`);
  }

  /** Problems of a string PostgreSQL must store: NUL characters and lone surrogates. */
  storable(path: string, value: string, what = 'value'): boolean {
    let ok = true;
    if (value.includes('\u0000')) {
      this.add(path, `${what} contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot hold`);
      ok = false;
    }
    if (LONE_SURROGATE.test(value)) {
      this.add(path, `${what} is not well-formed Unicode (a lone UTF-16 surrogate)`);
      ok = false;
    }
    return ok;
  }

  string(object: Json, key: string, path: string, options: { readonly nonEmpty?: boolean; readonly maxLength?: number } = {}): string | undefined {
    const at = member(path, key);
    if (!(key in object) || object[key] === undefined) {
      this.add(at, 'required');
      return undefined;
    }
    const value = object[key];
    if (typeof value !== 'string') {
      this.add(at, `must be a string; got ${typeOf(value)}`);
      return undefined;
    }
    let ok = this.storable(at, value);
    if (options.nonEmpty === true && value.length === 0) {
      this.add(at, 'must not be empty');
      ok = false;
    }
    if (options.maxLength !== undefined && value.length > options.maxLength) {
      this.add(at, `must be at most ${options.maxLength} characters; got ${value.length}`);
      ok = false;
    }
    return ok ? value : undefined;
  }

  status(object: Json, key: string, path: string): AlertStatus | undefined {
    const at = member(path, key);
    const value = object[key];
    if (value === undefined) {
      this.add(at, 'required');
      return undefined;
    }
    if (value === 'firing' || value === 'resolved') return value;
    this.add(at, `must be "firing" or "resolved"; got ${typeof value === 'string' ? quote(value) : typeOf(value)}`);
    return undefined;
  }

  /** An object of string values with non-empty names (labels, annotations). */
  stringMap(value: unknown, path: string, what: 'label' | 'annotation'): Record<string, string> | undefined {
    if (!isObject(value)) {
      this.add(path, value === undefined ? 'required' : `must be an object of ${what} names to strings; got ${typeOf(value)}`);
      return undefined;
    }
    let ok = true;
    const entries: [string, string][] = [];
    for (const [name, item] of Object.entries(value)) {
      const at = member(path, name);
      if (name.length === 0) {
        this.add(at, `${what} name must not be empty`);
        ok = false;
      } else if (!this.storable(at, name, `${what} name`)) {
        ok = false;
      }
      if (typeof item !== 'string') {
        this.add(at, `${what} value must be a string; got ${typeOf(item)}`);
        ok = false;
      } else if (!this.storable(at, item)) {
        ok = false;
      } else {
        entries.push([name, item]);
      }
    }
    return ok ? Object.fromEntries(entries) : undefined;
  }

  time(object: Json, key: string, path: string, allowZero: boolean): { text: string; nanos: bigint; zero: boolean } | undefined {
    const at = member(path, key);
    const value = object[key];
    if (value === undefined) {
      this.add(at, 'required');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.add(at, `must be an RFC 3339 time string; got ${typeOf(value)}`);
      return undefined;
    }
    const parsed = parseRfc3339(value);
    if (parsed === undefined) {
      this.add(at, `not an RFC 3339 time (years 0001 to 9999, e.g. 2026-11-27T00:22:20.869610604Z); got ${quote(value)}`);
      return undefined;
    }
    if (parsed.isGoZeroTime && !allowZero) {
      this.add(at, "Go's zero time (0001-01-01T00:00:00Z) is only allowed for endsAt");
      return undefined;
    }
    return { text: value, nanos: parsed.epochNanos, zero: parsed.isGoZeroTime };
  }
}

function checkAlert(checker: Checker, value: unknown, path: string): WebhookAlert | undefined {
  if (!isObject(value)) {
    checker.add(path, `must be an object; got ${typeOf(value)}`);
    return undefined;
  }
  const status = checker.status(value, 'status', path);
  const labels = checker.stringMap(value.labels, member(path, 'labels'), 'label');
  const annotations = checker.stringMap(value.annotations, member(path, 'annotations'), 'annotation');
  const startsAt = checker.time(value, 'startsAt', path, false);
  const endsAt = checker.time(value, 'endsAt', path, true);
  const generatorURL = checker.string(value, 'generatorURL', path);
  const fingerprint = checker.string(value, 'fingerprint', path, { nonEmpty: true, maxLength: MAX_FINGERPRINT_LENGTH });
  if (status === 'resolved' && endsAt !== undefined) {
    if (endsAt.zero) {
      checker.add(member(path, 'endsAt'), "a resolved alert needs the time it ended, not Go's zero time");
      return undefined;
    }
    if (startsAt !== undefined && endsAt.nanos < startsAt.nanos) {
      checker.add(member(path, 'endsAt'), 'a resolved alert cannot end before it starts (endsAt is before startsAt)');
      return undefined;
    }
  }
  if (
    status === undefined ||
    labels === undefined ||
    annotations === undefined ||
    startsAt === undefined ||
    endsAt === undefined ||
    generatorURL === undefined ||
    fingerprint === undefined
  ) {
    return undefined;
  }
  return { status, labels, annotations, startsAt: startsAt.text, endsAt: endsAt.text, generatorURL, fingerprint };
}

function checkAlerts(checker: Checker, value: unknown): WebhookAlert[] | undefined {
  if (value === undefined) {
    checker.add('alerts', 'required');
    return undefined;
  }
  if (!Array.isArray(value)) {
    checker.add('alerts', `must be an array of alerts; got ${typeOf(value)}`);
    return undefined;
  }
  if (value.length === 0) {
    checker.add('alerts', 'must not be empty');
    return undefined;
  }
  if (value.length > MAX_WEBHOOK_ALERTS) {
    // not walked: the bound is there to keep one request's work bounded
    checker.add('alerts', `at most ${MAX_WEBHOOK_ALERTS} alerts per webhook; got ${value.length} (lower Alertmanager's max_alerts)`);
    return undefined;
  }
  const alerts: WebhookAlert[] = [];
  let ok = true;
  (value as readonly unknown[]).forEach((item, index) => {
    const alert = checkAlert(checker, item, `alerts[${index}]`);
    if (alert === undefined) ok = false;
    else alerts.push(alert);
  });
  return ok ? alerts : undefined;
}

/**
 * Checks that `body` (parsed JSON) is an Alertmanager webhook of version 4 that PostgreSQL can
 * store, and returns the fields kept (a copy; unknown fields are ignored), or every problem found,
 * each with its JSON path: `alerts[1].startsAt: not an RFC 3339 time …`.
 *
 * Rules: `version` is `"4"`; `receiver` and `groupKey` are strings; `status` is `firing` or
 * `resolved`; `alerts` is a non-empty array of at most {@link MAX_WEBHOOK_ALERTS}; each alert has
 * `status`, `labels` and `annotations` (objects of non-empty names to strings; may be empty),
 * `startsAt` and `endsAt` (RFC 3339 with up to nanoseconds; Go's zero time for `endsAt` only, and
 * not for a resolved alert, whose `endsAt` may not precede `startsAt`), `generatorURL` (a string,
 * may be empty) and `fingerprint` (1 to {@link MAX_FINGERPRINT_LENGTH} characters). The optional
 * `groupLabels`, `commonLabels`, `commonAnnotations`, `externalURL` and `truncatedAlerts` are
 * checked when present. No string may contain a NUL character or a lone UTF-16 surrogate
 * (PostgreSQL's text and jsonb cannot hold them); any other character, control characters and
 * SQL text included, is data and is kept as it is.
 *
 * Pure: no I/O, no dependency on a web framework.
 */
export function validateWebhook(body: unknown): WebhookValidation {
  const checker = new Checker();
  if (!isObject(body)) {
    checker.add('', `must be a JSON object; got ${typeOf(body)}`);
    return { ok: false, problems: checker.problems };
  }
  const version = body.version;
  if (version === undefined) checker.add('version', 'required');
  else if (version !== '4') {
    checker.add('version', `must be "4" (Alertmanager's webhook version); got ${typeof version === 'string' ? quote(version) : typeOf(version)}`);
  }
  const receiver = checker.string(body, 'receiver', '');
  const status = checker.status(body, 'status', '');
  const groupKey = checker.string(body, 'groupKey', '');
  const alerts = checkAlerts(checker, body.alerts);

  const optional: {
    groupLabels?: Record<string, string>;
    commonLabels?: Record<string, string>;
    commonAnnotations?: Record<string, string>;
    externalURL?: string;
    truncatedAlerts?: number;
  } = {};
  for (const key of ['groupLabels', 'commonLabels', 'commonAnnotations'] as const) {
    if (body[key] === undefined) continue;
    const map = checker.stringMap(body[key], key, key === 'commonAnnotations' ? 'annotation' : 'label');
    if (map !== undefined) optional[key] = map;
  }
  if (body.externalURL !== undefined) {
    const externalURL = checker.string(body, 'externalURL', '');
    if (externalURL !== undefined) optional.externalURL = externalURL;
  }
  const truncated = body.truncatedAlerts;
  if (truncated !== undefined) {
    if (typeof truncated !== 'number' || !Number.isSafeInteger(truncated) || truncated < 0) {
      checker.add('truncatedAlerts', `must be an integer >= 0; got ${typeof truncated === 'number' ? String(truncated) : typeOf(truncated)}`);
    } else {
      optional.truncatedAlerts = truncated;
    }
  }

  if (checker.problems.length > 0 || receiver === undefined || status === undefined || groupKey === undefined || alerts === undefined) {
    return { ok: false, problems: checker.problems };
  }
  return { ok: true, value: { version: '4', receiver, status, groupKey, alerts, ...optional } };
}

/**
 * {@link validateWebhook}, throwing: the webhook, or a {@link WebhookValidationError} listing every problem.
 * @throws WebhookValidationError
 */
export function parseWebhook(body: unknown): AlertmanagerWebhook {
  const result = validateWebhook(body);
  if (!result.ok) throw new WebhookValidationError(result.problems);
  return result.value;
}
