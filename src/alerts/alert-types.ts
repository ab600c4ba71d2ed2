/**
 * Shapes of the alert history: the Alertmanager webhook as received, and what the repository
 * answers. Times are `Date`s (milliseconds: Alertmanager's nanoseconds are not kept).
 */

/** An alert's status, as Alertmanager sends it and as stored. */
export type AlertStatus = 'firing' | 'resolved';

/** One alert of an Alertmanager webhook (version 4), the fields kept. Unknown fields are ignored. */
export interface WebhookAlert {
  readonly status: AlertStatus;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** RFC 3339 with up to nanoseconds, e.g. `2026-11-27T00:22:20.869610604Z`. */
  readonly startsAt: string;
  /** RFC 3339; Go's zero time `0001-01-01T00:00:00Z` while firing (stored as NULL). */
  readonly endsAt: string;
  readonly generatorURL: string;
  /** Alertmanager's fingerprint of the label set (16 hex characters). */
  readonly fingerprint: string;
}

/** An Alertmanager webhook body (version 4), the fields kept. Unknown fields are ignored. */
export interface AlertmanagerWebhook {
  readonly version: string;
  readonly receiver: string;
  readonly status: AlertStatus;
  readonly groupKey: string;
  readonly alerts: readonly WebhookAlert[];
  readonly groupLabels?: Readonly<Record<string, string>>;
  readonly commonLabels?: Readonly<Record<string, string>>;
  readonly commonAnnotations?: Readonly<Record<string, string>>;
  readonly externalURL?: string;
  readonly truncatedAlerts?: number;
}

/** What one ingest did. */
export interface IngestResult {
  /** Events (alert states) stored for the first time. */
  readonly newEvents: number;
  /** Events already stored (a re-sent notification): nothing changed for them. */
  readonly duplicates: number;
  /** Rows of `alerts` inserted or updated. */
  readonly alertsTouched: number;
}

/** A stored event: one state an alert reached. */
export interface AlertEvent {
  /** `alert_events.id` (bigint, as a string). */
  readonly id: string;
  readonly fingerprint: string;
  readonly status: AlertStatus;
  readonly alertname: string | null;
  readonly startsAt: Date;
  /** `null` while firing. */
  readonly endsAt: Date | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly generatorURL: string;
  readonly receiver: string;
  readonly groupKey: string;
  readonly receivedAt: Date;
}

/** The current state of one alert (`alerts`). */
export interface AlertState {
  readonly fingerprint: string;
  readonly status: AlertStatus;
  readonly alertname: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: Date;
  readonly endsAt: Date | null;
  readonly generatorURL: string;
  readonly receiver: string;
  readonly firstSeenAt: Date;
  readonly lastSeenAt: Date;
  readonly lastReceivedAt: Date;
  readonly firingEpisodes: number;
}

/** A label matcher of a history query, Prometheus style. */
export interface LabelMatcher {
  readonly name: string;
  /** `=` equal, `!=` not equal (a missing label counts as not equal), `=~` / `!~` full-match POSIX regular expression. */
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

/** A time range, `from` inclusive, `to` exclusive. */
export interface TimeWindow {
  readonly from: Date;
  readonly to: Date;
}

/** Filters of {@link AlertRepository.history}; all optional, combined with AND. */
export interface HistoryFilters {
  readonly status?: AlertStatus;
  readonly alertname?: string;
  /** The `severity` label. */
  readonly severity?: string;
  /** The `namespace` label. */
  readonly namespace?: string;
  readonly fingerprint?: string;
  readonly receiver?: string;
  readonly labels?: readonly LabelMatcher[];
  /** On `starts_at`. */
  readonly from?: Date;
  readonly to?: Date;
}

/** Default and largest page size of {@link AlertRepository.history}. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** Which page: `limit` (1…1000, default 50) and the `cursor` of the page before, if any. */
export interface PageRequest {
  readonly limit?: number;
  /** Opaque: `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** A page, newest first. `nextCursor` is `undefined` on the last page. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | undefined;
}

/** One alert of {@link AlertRepository.top}. */
export interface TopAlert {
  readonly fingerprint: string;
  readonly alertname: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** Firing episodes (firing events) that started in the window. */
  readonly firingEpisodes: number;
}

/** One alert of {@link AlertRepository.flapping}. */
export interface FlappingAlert {
  readonly fingerprint: string;
  readonly alertname: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** State changes (events) in the window. */
  readonly transitions: number;
  /** `transitions` divided by the window's length in hours. */
  readonly transitionsPerHour: number;
}

/** One time bucket of {@link AlertRepository.stats}. */
export interface StatsBucket {
  /** Start of the bucket. */
  readonly start: Date;
  readonly byStatus: Readonly<Record<AlertStatus, number>>;
  /** Counts by the `severity` label (`(none)` without it). */
  readonly bySeverity: Readonly<Record<string, number>>;
  /** Counts by the `namespace` label (`(none)` without it). */
  readonly byNamespace: Readonly<Record<string, number>>;
}

/** What {@link AlertRepository.stats} answers. */
export interface AlertStats {
  readonly window: TimeWindow;
  readonly bucketMs: number;
  readonly buckets: readonly StatsBucket[];
  /** Over the episodes resolved in the window (resolved event's `ends_at` − `starts_at`); `null` when none. */
  readonly meanTimeToResolveSeconds: number | null;
  readonly medianTimeToResolveSeconds: number | null;
}

/** The alert history's queries, over the generated schema. */
export interface AlertRepository {
  /**
   * Stores one webhook in one transaction: every alert's state as an event (idempotent: a state
   * already stored adds nothing), and the current state of each alert. Validates first
   * (`WebhookValidationError` listing every problem; nothing stored).
   */
  ingest(payload: unknown, options?: { readonly receivedAt?: Date }): Promise<IngestResult>;
  /** Events matching `filters`, newest first (`starts_at`, then `id`), with keyset pagination. */
  history(filters?: HistoryFilters, page?: PageRequest): Promise<Page<AlertEvent>>;
  /** Every event of one alert, oldest first. */
  timeline(fingerprint: string): Promise<readonly AlertEvent[]>;
  /** Alerts currently firing, newest first. */
  active(): Promise<readonly AlertState[]>;
  /** The noisiest alerts of the window: most firing episodes first. */
  top(window: TimeWindow, limit?: number): Promise<readonly TopAlert[]>;
  /** Alerts with at least `minTransitions` state changes in the window, most transitions per hour first. */
  flapping(window: TimeWindow, minTransitions?: number): Promise<readonly FlappingAlert[]>;
  /** Counts per time bucket, and time to resolve. */
  stats(window: TimeWindow, bucketMs: number): Promise<AlertStats>;
  /** Deletes events (and alerts whose newest state is resolved) older than `olderThan`, in batches; returns how many events were deleted. */
  purge(olderThan: Date, options?: { readonly batchSize?: number }): Promise<{ readonly deletedEvents: number; readonly deletedAlerts: number }>;
}
