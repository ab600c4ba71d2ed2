import { request, type IncomingMessage } from 'node:http';
import { expect } from 'chai';
import { setUpService, type ServiceFixture } from './service-support.js';

/** What came back for a body that was never sent in full. */
interface PartialUpload {
  readonly status: number;
  readonly connection: string | undefined;
  readonly body: string;
  /** Bytes written before the answer came. */
  readonly written: number;
}

/**
 * POSTs to `/webhook` over a real socket: writes 64 KiB chunks until `stopAfter` bytes, then
 * waits, never ending the body; resolves with the answer the server gives meanwhile.
 */
function uploadWithoutEnding(url: string, headers: Record<string, string>, stopAfter: number): Promise<PartialUpload> {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    const outgoing = request(`${url}/webhook`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
    outgoing.on('response', (response: IncomingMessage) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (text: string) => (body += text));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body, written });
        outgoing.destroy();
      });
    });
    // the server may close the connection while we still write: that is the point
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    const writeMore = (): void => {
      while (written < stopAfter) {
        written += chunk.length;
        if (!outgoing.write(chunk)) {
          outgoing.once('drain', writeMore);
          return;
        }
      }
    };
    outgoing.write('{"padding":"');
    writeMore();
  });
}

describe('service: a 10 MB body over a real socket gets 413 before it is all sent', () => {
  let fixture: ServiceFixture;
  let url: string;

  before(async () => {
    fixture = await setUpService('svc-body-limit');
    url = await fixture.service.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await fixture?.close();
  });

  it('with Content-Length: 10 MB declared, 413 and Connection: close after the first 64 KiB', async () => {
    const answer = await uploadWithoutEnding(url, { 'content-length': String(10 * 1024 * 1024) }, 64 * 1024);
    expect(answer.status).to.equal(413);
    expect(answer.connection).to.equal('close');
    expect(JSON.parse(answer.body)).to.deep.equal({ error: 'request body is larger than the limit of 1048576 bytes (BODY_LIMIT_BYTES)' });
  });

  it('chunked, without Content-Length: 413 once past the limit, while the rest (of 10 MB) is never sent', async () => {
    const answer = await uploadWithoutEnding(url, {}, 2 * 1024 * 1024);
    expect(answer.status).to.equal(413);
    expect(answer.written).to.be.below(10 * 1024 * 1024);
    expect(await fixture.counts()).to.deep.equal({ events: 0, alerts: 0 });
    // the service still serves
    expect((await fixture.get('/healthz')).statusCode).to.equal(200);
  });
});
