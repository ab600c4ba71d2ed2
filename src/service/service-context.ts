import type { AlertRepository } from '../alerts/alert-types.js';
import type { Logger } from '../observability/logger.js';

/** What the routes of the service work with. */
export interface ServiceContext {
  readonly repository: AlertRepository;
  readonly logger: Logger;
  /** The current time (the end of default query windows). */
  readonly now: () => Date;
}
