/**
 * Shapes of the alert history: the Alertmanager webhook as received, and what the repository
 * answers. Times are `Date`s (milliseconds: Alertmanager's nanoseconds are not kept).
 */

/** An alert's status, as Alertmanager sends it and as stored. */
export type AlertStatus = 'firing' | 'resolved';

/** One alert of an Alertmanager webhook (version 4), the fields kept. Unknown fields are ignored. */
export interface WebhookAlert {
  /** The state this notification reports. */
  readonly status: AlertStatus;
  /** The alert's identifying labels (names are non-empty). */
  readonly labels: Readonly<Record<string, string>>;
  /** The alert's annotations (names are non-empty). */
  readonly annotations: Readonly<Record<string, string>>;
  /** RFC 3339 with up to nanoseconds, e.g. `2026-11-27T00:22:20.869610604Z`. */
  readonly startsAt: string;
  /** RFC 3339; Go's zero time `0001-01-01T00:00:00Z` while firing (stored as NULL). */
  readonly endsAt: string;
  /** Link to the rule that produced the alert; may be empty. */
  readonly generatorURL: string;
  /** Alertmanager's fingerprint of the label set (16 hex characters). */
  readonly fingerprint: string;
}

/** An Alertmanager webhook body (version 4), the fields kept. Unknown fields are ignored. */
export interface AlertmanagerWebhook {
  /** The webhook format's version: always `"4"`. */
  readonly version: string;
  /** The Alertmanager receiver that sent the notification (stored with every event). */
  readonly receiver: string;
  /** `firing` when at least one alert of the group fires, else `resolved`. */
  readonly status: AlertStatus;
  /** Alertmanager's key of the notification group (stored with every event). */
  readonly groupKey: string;
  /** The alerts of the notification: at least one. */
  readonly alerts: readonly WebhookAlert[];
  /** The labels the group is grouped by. Not stored. */
  readonly groupLabels?: Readonly<Record<string, string>>;
  /** Labels all alerts of the group share. Not stored. */
  readonly commonLabels?: Readonly<Record<string, string>>;
  /** Annotations all alerts of the group share. Not stored. */
  readonly commonAnnotations?: Readonly<Record<string, string>>;
  /** Alertmanager's external URL. Not stored. */
  readonly externalURL?: string;
  /** How many alerts Alertmanager left out of this notification (its `max_alerts`). Not stored. */
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
  /** Alertmanager's fingerprint of the alert's labels. */
  readonly fingerprint: string;
  /** The state the alert reached. */
  readonly status: AlertStatus;
  /** The `alertname` label, `null` without it. */
  readonly alertname: string | null;
  /** Alertmanager's `startsAt`: when the episode began. */
  readonly startsAt: Date;
  /** `null` while firing. */
  readonly endsAt: Date | null;
  /** The alert's labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** The alert's annotations as sent with this state. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Link to the rule that produced the alert; may be empty. */
  readonly generatorURL: string;
  /** The receiver of the webhook that brought this state. */
  readonly receiver: string;
  /** The group key of the webhook that brought this state. */
  readonly groupKey: string;
  /** When the webhook that brought this state was received. */
  readonly receivedAt: Date;
}

/** The current state of one alert (`alerts`). */
export interface AlertState {
  /** Alertmanager's fingerprint of the alert's labels: the key of `alerts`. */
  readonly fingerprint: string;
  /** The newest state received (a later `startsAt`, or `resolved` after `firing` for the same one). */
  readonly status: AlertStatus;
  /** The `alertname` label, `null` without it. */
  readonly alertname: string | null;
  /** The labels of the newest state. */
  readonly labels: Readonly<Record<string, string>>;
  /** The annotations of the newest state. */
  readonly annotations: Readonly<Record<string, string>>;
  /** `startsAt` of the current (newest) episode. */
  readonly startsAt: Date;
  /** `endsAt` of the current episode, `null` while it fires. */
  readonly endsAt: Date | null;
  /** `generatorURL` of the newest state. */
  readonly generatorURL: string;
  /** The receiver of the webhook that brought the newest state. */
  readonly receiver: string;
  /** `startsAt` of the first episode recorded. */
  readonly firstSeenAt: Date;
  /** When the newest notification carrying the alert was received, re-sent ones included. */
  readonly lastSeenAt: Date;
  /** When the newest state was received. */
  readonly lastReceivedAt: Date;
  /** Firing episodes recorded: distinct `startsAt` of firing events. */
  readonly firingEpisodes: number;
}

/** A label matcher of a history query, Prometheus style. */
export interface LabelMatcher {
  /** The label name (non-empty). */
  readonly name: string;
  /** `=` equal, `!=` not equal (a missing label counts as not equal), `=~` / `!~` full-match POSIX regular expression. */
  readonly op: '=' | '!=' | '=~' | '!~';
  /** The value to compare with, or the regular expression; a missing label reads as `""`. */
  readonly value: string;
}

/** A time range, `from` inclusive, `to` exclusive. */
export interface TimeWindow {
  /** Start, inclusive. */
  readonly from: Date;
  /** End, exclusive. */
  readonly to: Date;
}

/** Filters of {@link AlertRepository.history}; all optional, combined with AND. */
export interface HistoryFilters {
  /** Only events of this state. */
  readonly status?: AlertStatus;
  /** The `alertname` label equals this. */
  readonly alertname?: string;
  /** The `severity` label. */
  readonly severity?: string;
  /** The `namespace` label. */
  readonly namespace?: string;
  /** One alert's events. */
  readonly fingerprint?: string;
  /** Events received through this receiver. */
  readonly receiver?: string;
  /** Label matchers, all of which must match (at most {@link MAX_LABEL_MATCHERS}, `severity` and `namespace` included). */
  readonly labels?: readonly LabelMatcher[];
  /** On `starts_at`, inclusive. */
  readonly from?: Date;
  /** On `starts_at`, exclusive; not before `from`. */
  readonly to?: Date;
}

/** Default page size of {@link AlertRepository.history}. */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page size of {@link AlertRepository.history}. */
export const MAX_PAGE_SIZE = 1000;

/** Which page: `limit` (1…1000, default 50) and the `cursor` of the page before, if any. */
export interface PageRequest {
  /** Most items on the page: 1 to {@link MAX_PAGE_SIZE}, default {@link DEFAULT_PAGE_SIZE}. */
  readonly limit?: number;
  /** Opaque: `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** A page, newest first. `nextCursor` is `undefined` on the last page. */
export interface Page<T> {
  /** The page's items, newest first. */
  readonly items: readonly T[];
  /** Pass as {@link PageRequest.cursor} to read the next page; `undefined` on the last page. */
  readonly nextCursor: string | undefined;
}

/** One alert of {@link AlertRepository.top}. */
export interface TopAlert {
  /** Alertmanager's fingerprint of the alert's labels. */
  readonly fingerprint: string;
  /** The `alertname` label, `null` without it. */
  readonly alertname: string | null;
  /** The labels of the alert's newest event. */
  readonly labels: Readonly<Record<string, string>>;
  /** Firing episodes (firing events) that started in the window. */
  readonly firingEpisodes: number;
}

/** One alert of {@link AlertRepository.flapping}. */
export interface FlappingAlert {
  /** Alertmanager's fingerprint of the alert's labels. */
  readonly fingerprint: string;
  /** The `alertname` label, `null` without it. */
  readonly alertname: string | null;
  /** The labels of the alert's newest event. */
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
  /** Counts by status (`firing`, `resolved`; both present, 0 when none). */
  readonly byStatus: Readonly<Record<AlertStatus, number>>;
  /** Counts by the `severity` label (`(none)` without it). */
  readonly bySeverity: Readonly<Record<string, number>>;
  /** Counts by the `namespace` label (`(none)` without it). */
  readonly byNamespace: Readonly<Record<string, number>>;
}

/** What {@link AlertRepository.stats} answers. */
export interface AlertStats {
  /** The window asked for. */
  readonly window: TimeWindow;
  /** The width of each bucket, in milliseconds. */
  readonly bucketMs: number;
  /** Every bucket from `window.from`, oldest first, empty ones included. */
  readonly buckets: readonly StatsBucket[];
  /** Over the episodes resolved in the window (resolved event's `ends_at` − `starts_at`); `null` when none. */
  readonly meanTimeToResolveSeconds: number | null;
  /** The median over the same episodes as the mean; `null` when none. */
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
  /** Deletes events (and alerts whose newest state is resolved) older than `olderThan`, in batches; returns how many rows of each were deleted. */
  purge(
    olderThan: Date,
    options?: { readonly batchSize?: number },
  ): Promise<{
    /** Rows of `alert_events` deleted. */
    readonly deletedEvents: number;
    /** Rows of `alerts` deleted. */
    readonly deletedAlerts: number;
  }>;
}
