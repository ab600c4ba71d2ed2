/**
 * Kysely types of the alert-history schema (migrations/), generated into `database.ts` by
 * `npm run codegen` and never edited by hand: `new Kysely<DB>(…)` or `createDatabase()` give
 * typed queries over `alert_events` and `alerts`. See docs/migrations.md.
 */
export type { AlertEvents, Alerts, AlertStatus, DB, Generated, Json, JsonArray, JsonObject, JsonPrimitive, JsonValue, Timestamp } from './database.js';
