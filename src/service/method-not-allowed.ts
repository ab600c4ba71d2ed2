import type { FastifyInstance, HTTPMethods } from 'fastify';

const ALL_METHODS: readonly HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Answers 405 with `Allow` on every method of `url` other than `allowed` (HEAD comes with GET),
 * rather than the 404 of a path that does not exist.
 */
export function registerMethodNotAllowed(app: FastifyInstance, url: string, allowed: readonly HTTPMethods[]): void {
  const allow = allowed.includes('GET') ? [...allowed, 'HEAD'] : [...allowed];
  const others = ALL_METHODS.filter((method) => !allow.includes(method));
  app.route({
    method: others,
    url,
    handler: async (request, reply) =>
      reply
        .code(405)
        .header('allow', allow.join(', '))
        .send({ error: `method ${request.method} not allowed on ${url}; use ${allow.join(' or ')}` }),
  });
}
