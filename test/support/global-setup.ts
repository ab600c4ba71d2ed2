/** Mocha global fixtures for the integration suites: one server per run, see test-server.ts. */
import { startTestServer, stopTestServer } from './test-server.js';

export async function mochaGlobalSetup(): Promise<void> {
  const server = await startTestServer();
  console.log(`integration tests: PostgreSQL ${server.majorVersion} (${server.origin})`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopTestServer();
}
