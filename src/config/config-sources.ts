import type { ConnectionUrl } from './connection-url.js';
import type { PostgresConfigInput } from './postgres-config.js';

/** Where a setting may come from, highest priority first: explicit option, URL parameter, environment variables. */
export interface FieldSources {
  /** Name of the explicit option. */
  readonly explicit: keyof PostgresConfigInput;
  /** libpq keyword in the connection URL (part or query parameter), if the URL can carry it. */
  readonly url?: string;
  /** Environment variables, in priority order. */
  readonly env?: readonly string[];
}

/** The raw value chosen for a setting, and the name the user gave it (for problem messages). */
export interface Candidate {
  readonly kind: 'explicit' | 'url' | 'env';
  /** As the user spelled it: `port`, `DATABASE_URL:port`, `PGPORT`. */
  readonly field: string;
  readonly value: number | string;
}

/**
 * The three layers of configuration input. Explicit options count when they are not
 * `undefined` (an explicit empty string is a value); URL parameters and environment variables
 * count when they are non-empty (an empty variable, as `FOO=` in a compose file, is unset).
 *
 * The layers are merged setting by setting, so `url` must only be a URL that may complete the
 * explicit options: `explicit.connectionString`, or `DATABASE_URL` when the explicit options give
 * no connection identity field (`loadConfig` passes `undefined` otherwise).
 */
export class ConfigSources {
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #explicit: PostgresConfigInput;
  readonly #url: ConnectionUrl | undefined;

  constructor(env: Readonly<Record<string, string | undefined>>, explicit: PostgresConfigInput, url: ConnectionUrl | undefined) {
    this.#env = env;
    this.#explicit = explicit;
    this.#url = url;
  }

  /** The highest-priority value given for a setting, or `undefined` when none was. */
  first(sources: FieldSources): Candidate | undefined {
    const explicit: unknown = this.#explicit[sources.explicit];
    if (typeof explicit === 'string' || typeof explicit === 'number') {
      return { kind: 'explicit', field: sources.explicit, value: explicit };
    }
    const fromUrl = sources.url === undefined ? undefined : this.#url?.params.get(sources.url);
    if (fromUrl !== undefined && this.#url !== undefined) {
      return { kind: 'url', field: `${this.#url.source}:${sources.url}`, value: fromUrl };
    }
    for (const name of sources.env ?? []) {
      const value = this.env(name);
      if (value !== undefined) return { kind: 'env', field: name, value };
    }
    return undefined;
  }

  /** An environment variable's value, `undefined` when unset or empty. */
  env(name: string): string | undefined {
    const value = this.#env[name];
    return value === undefined || value === '' ? undefined : value;
  }
}
