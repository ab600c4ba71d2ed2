import { expect } from 'chai';
import type { AlertRepository } from '../../../src/alerts/alert-types.js';
import { createAlertRepository } from '../../../src/alerts/alert-repository.js';
import type { Logger } from '../../../src/observability/logger.js';
import { auditLog, type AuditRecord } from '../../../src/plugins/audit-log.js';
import { createService } from '../../../src/service/create-service.js';
import { json, sample, setUpService, type ServiceFixture } from './service-support.js';

/** A logger that keeps what it is given. */
function memoryLogger(): Logger & { readonly lines: { level: string; message: string; meta: Record<string, unknown> | undefined }[] } {
  const lines: { level: string; message: string; meta: Record<string, unknown> | undefined }[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) => lines.push({ level, message, meta });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe('service: audit actor, and failures that are not the client’s or the database’s', () => {
  const records: AuditRecord[] = [];
  let fixture: ServiceFixture;

  before(async () => {
    fixture = await setUpService('svc-audit', { database: { interceptors: [auditLog({ sink: { write: (record: AuditRecord) => records.push(record) } })] } });
  });

  after(async () => {
    await fixture?.close();
  });

  it('ingests on behalf of alertmanager:<receiver>', async () => {
    records.length = 0;
    const response = await fixture.postWebhook({ ...sample('02-firing-1alerts-firing.json'), receiver: 'oncall-pager' });
    expect(response.statusCode).to.equal(200);
    const writes = records.filter((record) => record.operation === 'insert');
    expect(writes.length).to.be.above(0);
    for (const record of writes) expect(record.actor).to.equal('alertmanager:oncall-pager');
    records.length = 0;
    expect((await fixture.get('/history')).statusCode).to.equal(200);
    expect(records.every((record) => record.actor === null)).to.equal(true);
  });

  it('answers 500 with a generic message for an unexpected error, and logs it', async () => {
    const logger = memoryLogger();
    const real = createAlertRepository(fixture.database.db);
    const broken: AlertRepository = { ...real, active: () => Promise.reject(new Error('bug: secret detail postgres://u:hunter2@db/x')) };
    const service = await createService({ database: fixture.database, repository: broken, logger });
    try {
      const response = await service.app.inject('/alerts/active');
      expect(response.statusCode).to.equal(500);
      expect(json(response)).to.deep.equal({ error: 'internal server error' });
      expect(response.body).to.not.include('hunter2');
      const logged = logger.lines.find((line) => line.level === 'error');
      expect(logged?.message).to.equal('request failed');
      expect(logged?.meta).to.include({ method: 'GET', route: '/alerts/active', status: 500 });
    } finally {
      await service.close();
    }
  });
});
