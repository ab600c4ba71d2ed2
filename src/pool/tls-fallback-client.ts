import pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import { fallbackFor, tlsPlan, type TlsPlan } from '../config/tls-options.js';
import { copySslSetting, type SslSetting } from './pg-pool-options.js';

/** The `pg.Client` class a pool is given through its `Client` option. */
export type ClientClass = new (config?: pg.ClientConfig) => pg.Client;

/**
 * How many times one pooled connect is retried with the fallback while its retry keeps being
 * built with the first choice (another connect took the handoff; see {@link TlsFallback}).
 */
const MAX_FALLBACK_RETRIES = 3;

/** The TLS setting a connected (or connecting) client actually uses: pg keeps it as `client.ssl`. */
export function effectiveSslOf(client: pg.ClientBase): SslSetting {
  const ssl = (client as { ssl?: unknown }).ssl;
  if (typeof ssl === 'object' && ssl !== null) return copySslSetting(ssl as SslSetting);
  return ssl === true ? {} : false;
}

/**
 * libpq's `sslmode` `prefer` and `allow` for `pg.Pool`: each new connection is opened with the
 * first TLS setting (`prefer`: TLS, `allow`: plaintext) and, if the server refuses that, opened
 * once more with the fallback setting.
 *
 * node-postgres cannot reconnect a `pg.Client`, and `pg.Pool` builds its clients itself (with the
 * same options object every time), so the retry is a second `pool.connect()` whose new client must
 * get the fallback setting. The handoff is a counter of *fallback tickets*: a retry issues one, and
 * the next client the pool's `Client` class constructs takes it, whenever pg.Pool gets round to
 * constructing it (synchronously inside `connect()`, or later if pg.Pool queued the request).
 * Tickets are not bound to one request, so two cases are handled:
 *
 * - another connect's client took the ticket first: that client gets the fallback, which the
 *   server has just shown it wants, and the retry's own client is built with the first choice and
 *   refused again; the retry is then repeated (at most {@link MAX_FALLBACK_RETRIES} times). A
 *   refusal of the first choice can only come from a client built with the first choice, so this
 *   never retries a fallback that failed;
 * - the retry got an idle client and constructed none: when a retry settles, tickets beyond the
 *   retries still in progress are withdrawn, so none outlives its purpose.
 *
 * Standalone clients ({@link connectClient}) are built here with an explicit setting and never take
 * a ticket.
 */
export class TlsFallback {
  readonly #plan: TlsPlan;
  readonly #onFallback: (error: unknown) => void;
  /** Fallback handoffs issued by retries and not yet taken by a constructed client. */
  #tickets = 0;
  /** Retries in progress. */
  #retrying = 0;
  /** The class to pass as `pg.Pool`'s `Client` option. */
  readonly Client: ClientClass;

  /**
   * @param config the pool's configuration (its `sslMode` decides the plan)
   * @param onCreate called with each pooled client as it is constructed (before it connects)
   * @param onFallback called with the refusal each time a first attempt is retried with the fallback
   * @throws {ConfigError} from `tlsPlan` when a certificate or key file cannot be read
   */
  constructor(config: PostgresConfig, onCreate: (client: pg.Client) => void, onFallback: (error: unknown) => void = () => undefined) {
    this.#plan = tlsPlan(config);
    this.#onFallback = onFallback;
    const settingFor = (options: pg.ClientConfig | undefined): pg.ClientConfig | undefined => this.#takeTicket(options);
    this.Client = class FallbackAwareClient extends pg.Client {
      constructor(options?: pg.ClientConfig) {
        super(settingFor(options));
        onCreate(this);
      }
    };
  }

  /** The TLS setting of first attempts (`false`: plaintext). */
  get first(): SslSetting {
    return this.#plan.first;
  }

  /**
   * Runs `connect` (one `pg.Pool.connect()` whose new client is built by {@link Client}); when it
   * fails because the server refused the first TLS setting, runs it again with a fallback ticket.
   * Any other failure is passed on.
   */
  async connect<T>(connect: () => Promise<T>): Promise<T> {
    try {
      return await connect();
    } catch (error) {
      if (fallbackFor(this.#plan, error) === undefined) throw error;
      this.#onFallback(error);
      return await this.#retry(connect);
    }
  }

  /**
   * Opens a standalone client (outside any pool). With `ssl`, one attempt with exactly that
   * setting (e.g. the effective setting of a pooled client, see {@link effectiveSslOf}); without,
   * the pool's plan: the first setting, then the fallback if the server refused it.
   * `prepare` runs on each client before it connects (e.g. to attach an `error` listener).
   */
  async connectClient(options: pg.ClientConfig, prepare: (client: pg.Client) => void, ssl?: SslSetting): Promise<pg.Client> {
    if (ssl !== undefined) return this.#connectStandalone(options, ssl, prepare);
    try {
      return await this.#connectStandalone(options, this.#plan.first, prepare);
    } catch (error) {
      const fallback = fallbackFor(this.#plan, error);
      if (fallback === undefined) throw error;
      this.#onFallback(error);
      return await this.#connectStandalone(options, fallback, prepare);
    }
  }

  async #connectStandalone(options: pg.ClientConfig, ssl: SslSetting, prepare: (client: pg.Client) => void): Promise<pg.Client> {
    const client = new pg.Client(withSsl(options, ssl));
    prepare(client);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  async #retry<T>(connect: () => Promise<T>): Promise<T> {
    for (let retry = 1; ; retry += 1) {
      this.#retrying += 1;
      this.#tickets += 1;
      try {
        return await connect();
      } catch (error) {
        // Still a refusal of the *first* setting: this retry's client was built without the ticket.
        if (retry >= MAX_FALLBACK_RETRIES || fallbackFor(this.#plan, error) === undefined) throw error;
        this.#onFallback(error);
      } finally {
        this.#retrying -= 1;
        if (this.#tickets > this.#retrying) this.#tickets = this.#retrying;
      }
    }
  }

  /** The options of a client the pool constructs: the fallback setting if a ticket is waiting. */
  #takeTicket(options: pg.ClientConfig | undefined): pg.ClientConfig | undefined {
    const fallback = this.#plan.fallback;
    if (this.#tickets === 0 || fallback === undefined || options === undefined) return options;
    this.#tickets -= 1;
    return withSsl(options, fallback);
  }
}

/** A copy of `options` (every property, the non-enumerable password included) with `ssl` replaced. */
function withSsl(options: pg.ClientConfig, ssl: SslSetting): pg.ClientConfig {
  const copy: pg.ClientConfig = Object.defineProperties({}, Object.getOwnPropertyDescriptors(options));
  copy.ssl = copySslSetting(ssl);
  return copy;
}
