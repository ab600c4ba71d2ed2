import pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import { fallbackFor, tlsPlan, type TlsPlan } from '../config/tls-options.js';
import { copySslSetting, type SslSetting, clearEnvironmentStartupParameters } from './pg-pool-options.js';

/** The `pg.Client` class a pool is given through its `Client` option. */
export type ClientClass = new (config?: pg.ClientConfig) => pg.Client;

/**
 * How many times one pooled connect is retried with the fallback while its retry keeps being
 * built with the first choice (another connect took the handoff; see {@link TlsFallback}).
 */
const MAX_FALLBACK_RETRIES = 3;

/**
 * The TLS setting a connected (or connecting) client actually uses: pg keeps it as `client.ssl`.
 * For inspection only: the pool never takes a setting from a client (see {@link TlsFallback.choiceOf}).
 */
export function effectiveSslOf(client: pg.ClientBase): SslSetting {
  const ssl = (client as { ssl?: unknown }).ssl;
  if (typeof ssl === 'object' && ssl !== null) return copySslSetting(ssl as SslSetting);
  return ssl === true ? {} : false;
}

/** What a pooled client is constructed with. */
interface BuildSetting {
  readonly options: pg.ClientConfig | undefined;
  readonly choice: SslSetting | undefined;
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
 * a ticket. Each pooled client's choice is remembered ({@link choiceOf}), so that a standalone
 * client can be opened "like" one of the pool's own connections without trusting anything else.
 */
export class TlsFallback {
  readonly #plan: TlsPlan;
  readonly #onFallback: (error: unknown) => void;
  /** The plan's choice each pooled client was built with (its own connections, and only those). */
  readonly #built = new WeakMap<pg.ClientBase, SslSetting>();
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
    const settingFor = (options: pg.ClientConfig | undefined): BuildSetting => this.#takeTicket(options);
    const built = this.#built;
    this.Client = class FallbackAwareClient extends pg.Client {
      constructor(options?: pg.ClientConfig) {
        const setting = settingFor(options);
        super(setting.options);
        clearEnvironmentStartupParameters(this);
        if (setting.choice !== undefined) built.set(this, setting.choice);
        onCreate(this);
      }

      // pg leaves the socket of a client that failed to connect open when the failure is its own
      // (e.g. the server asks for a password and none is configured), and pg.Pool drops the client
      // without ending it: the server then holds a half-authenticated backend until its
      // authentication_timeout (1 min), which also blocks DROP DATABASE. End such a client here.
      override connect(): Promise<pg.Client>;
      override connect(callback: (err: Error) => void): void;
      override connect(callback?: (err: Error) => void): Promise<pg.Client> | void {
        if (callback === undefined) {
          return super.connect().catch(async (error: unknown) => {
            await this.end().catch(() => undefined);
            throw error;
          });
        }
        super.connect((error: Error) => {
          if (error) this.end().catch(() => undefined);
          callback(error);
        });
      }
    };
  }

  /** The TLS setting of first attempts (`false`: plaintext). */
  get first(): SslSetting {
    return this.#plan.first;
  }

  /**
   * Whether a refused first attempt is retried (`sslmode` `prefer` and `allow`). Without a
   * fallback, {@link connect} adds nothing: call `pg.Pool.connect()` directly.
   */
  get hasFallback(): boolean {
    return this.#plan.fallback !== undefined;
  }

  /**
   * The plan's TLS choice (`first` or `fallback`) that `client` was built with, if `client` was
   * constructed by this instance's {@link Client} class (a connection of this pool, open or
   * closed); `undefined` for any other client. Read from what this pool gave the client, never
   * from the client itself.
   */
  choiceOf(client: pg.ClientBase): SslSetting | undefined {
    return this.#built.get(client);
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
   * Opens a standalone client (outside any pool) with the options `optionsFor(ssl)` builds for a
   * TLS setting (called once per attempt). With `ssl`, one attempt with exactly that setting (e.g.
   * the {@link choiceOf} a pooled client); without, the pool's plan: the first setting, then the
   * fallback if the server refused it. `prepare` runs on each client before it connects (e.g. to
   * attach an `error` listener).
   */
  async connectClient(
    optionsFor: (ssl: SslSetting) => pg.ClientConfig,
    prepare: (client: pg.Client) => void,
    ssl?: SslSetting,
  ): Promise<pg.Client> {
    if (ssl !== undefined) return connectStandalone(optionsFor(ssl), prepare);
    try {
      return await connectStandalone(optionsFor(this.#plan.first), prepare);
    } catch (error) {
      const fallback = fallbackFor(this.#plan, error);
      if (fallback === undefined) throw error;
      this.#onFallback(error);
      return await connectStandalone(optionsFor(fallback), prepare);
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

  /**
   * The options of a client the pool constructs (the fallback setting if a ticket is waiting), and
   * the plan's choice they carry (`undefined` without options: pg.Pool always passes them).
   */
  #takeTicket(options: pg.ClientConfig | undefined): BuildSetting {
    if (options === undefined) return { options, choice: undefined };
    const fallback = this.#plan.fallback;
    if (this.#tickets === 0 || fallback === undefined) return { options, choice: this.#plan.first };
    this.#tickets -= 1;
    return { options: withSsl(options, fallback), choice: fallback };
  }
}

/** Opens `client` with `options`; a client that fails to connect is ended. */
async function connectStandalone(options: pg.ClientConfig, prepare: (client: pg.Client) => void): Promise<pg.Client> {
  const client = new pg.Client(options);
  clearEnvironmentStartupParameters(client);
  prepare(client);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** A copy of `options` (every property, the non-enumerable password included) with `ssl` replaced. */
function withSsl(options: pg.ClientConfig, ssl: SslSetting): pg.ClientConfig {
  const copy: pg.ClientConfig = Object.defineProperties({}, Object.getOwnPropertyDescriptors(options));
  copy.ssl = copySslSetting(ssl);
  return copy;
}
