import type { FastifyInstance, FastifyReply } from 'fastify';
import { validateWebhook, WebhookValidationError } from '../alerts/webhook-validation.js';
import { withActor } from '../plugins/actor-context.js';
import type { ServiceContext } from './service-context.js';

/** The answer to a stored webhook. */
export interface WebhookAnswer {
  readonly status: 'ok';
  /** Alerts the webhook carried. */
  readonly alerts: number;
  /** Events stored for the first time. */
  readonly newEvents: number;
  /** Events already stored (a re-sent notification). */
  readonly duplicates: number;
  /** Rows of the current state inserted or updated. */
  readonly alertsTouched: number;
}

/**
 * `POST /webhook`: an Alertmanager webhook (version 4, JSON). Validated first (400 listing every
 * problem, nothing stored), then stored in one transaction with the audit actor
 * `alertmanager:<receiver>`; 200 with the counts only once the transaction has committed. The
 * error handler turns a database outage into 503 + `Retry-After`, which Alertmanager retries
 * (ingestion is idempotent, so a retry of a webhook that did commit adds nothing).
 */
export function registerWebhookRoute(app: FastifyInstance, context: ServiceContext): void {
  app.post('/webhook', async (request, reply): Promise<WebhookAnswer | FastifyReply> => {
    // no body and no Content-Type: fastify parses nothing
    if (request.body === undefined) {
      return reply.code(400).send({ error: 'request body is empty; an Alertmanager webhook (JSON) was expected' });
    }
    const validation = validateWebhook(request.body);
    if (!validation.ok) throw new WebhookValidationError(validation.problems);
    const webhook = validation.value;
    const result = await withActor(`alertmanager:${webhook.receiver}`, () => context.repository.ingest(webhook));
    context.logger.debug('webhook stored', { receiver: webhook.receiver, alerts: webhook.alerts.length, ...result });
    return { status: 'ok', alerts: webhook.alerts.length, newEvents: result.newEvents, duplicates: result.duplicates, alertsTouched: result.alertsTouched };
  });
}
