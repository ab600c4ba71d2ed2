/** The alert history: Alertmanager webhook validation and the repository over the generated schema. */
export type * from './alert-types.js';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './alert-types.js';
export { createAlertRepository, DEFAULT_READ_TIMEOUT_MS, type AlertRepositoryOptions } from './alert-repository.js';
export { DEFAULT_MIN_TRANSITIONS, DEFAULT_TOP_LIMIT, MAX_STATS_BUCKETS, MAX_TOP_LIMIT } from './analytics.js';
export { decodeHistoryCursor, encodeHistoryCursor, type HistoryCursor } from './history-cursor.js';
export { anchorRegex, MAX_LABEL_MATCHERS, MAX_REGEX_LENGTH } from './label-matchers.js';
export { DEFAULT_PURGE_BATCH_SIZE, MAX_PURGE_BATCH_SIZE } from './purge.js';
export { QueryParameterError } from './query-parameter-error.js';
export { parseRfc3339, type ParsedTime } from './rfc3339.js';
export {
  MAX_FINGERPRINT_LENGTH,
  MAX_WEBHOOK_ALERTS,
  parseWebhook,
  validateWebhook,
  WebhookValidationError,
  type WebhookValidation,
} from './webhook-validation.js';
