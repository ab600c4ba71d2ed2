import pg from 'pg';
import type { PostgresConfig } from '../config/postgres-config.js';
import { fallbackFor, tlsPlan, type TlsPlan } from '../config/tls-options.js';
import { copySslSetting, type SslSetting } from './pg-pool-options.js';

/** The `pg.Client` class a pool is given through its `Client` option. */
export type ClientClass = new (config?: pg.ClientConfig) => pg.Client;

/**
 * libpq's `sslmode` `prefer` and `allow` for `pg.Pool`: each new connection is opened with the
 * first TLS setting (`prefer`: TLS, `allow`: plaintext) and, if the server refuses that, opened
 * once more with the fallback setting.
 *
 * node-postgres cannot reconnect a `pg.Client`, and `pg.Pool` builds its clients itself, so the
 * retry is a second `pool.connect()` whose new client gets the fallback setting: the pool's
 * `Client` class reads a one-shot override, set only for the duration of that (synchronous)
 * `pool.connect()` call. `pg.Pool` constructs the client synchronously inside `connect()` when it
 * has no idle client and room for one, which is always so when the instrumented pool calls it
 * (it owns the waiting; see permit-queue.ts). If an idle client is available instead, the
 * retry simply gets that one. The `sslmode prefer` integration test catches a change there.
 */
export class TlsFallback {
  readonly #plan: TlsPlan;
  readonly #onFallback: (error: unknown) => void;
  #override: SslSetting | undefined;
  /** The class to pass as `pg.Pool`'s `Client` option. */
  readonly Client: ClientClass;

  /**
   * @param config the pool's configuration (its `sslMode` decides the plan)
   * @param onCreate called with each client as it is constructed (before it connects)
   * @param onFallback called with the refusal each time a first attempt is retried with the fallback
   * @throws {ConfigError} from `tlsPlan` when a certificate or key file cannot be read
   */
  constructor(config: PostgresConfig, onCreate: (client: pg.Client) => void, onFallback: (error: unknown) => void = () => undefined) {
    this.#plan = tlsPlan(config);
    this.#onFallback = onFallback;
    const withOverride = (options: pg.ClientConfig | undefined): pg.ClientConfig | undefined => this.#withOverride(options);
    this.Client = class FallbackAwareClient extends pg.Client {
      constructor(options?: pg.ClientConfig) {
        super(withOverride(options));
        onCreate(this);
      }
    };
  }

  /** The TLS setting of first attempts (`false`: plaintext). */
  get first(): SslSetting {
    return this.#plan.first;
  }

  /**
   * Runs `connect` (one `pg.Pool.connect()`); when it fails because the server refused the first
   * TLS setting, runs it once more with the fallback setting. Any other failure is passed on.
   */
  async connect<T>(connect: () => Promise<T>): Promise<T> {
    try {
      return await connect();
    } catch (error) {
      const fallback = fallbackFor(this.#plan, error);
      if (fallback === undefined) throw error;
      this.#onFallback(error);
      return await this.#withFallback(connect, fallback);
    }
  }

  /** Opens a standalone client (outside any pool) with the same TLS plan, e.g. for a control connection. */
  async connectClient(options: pg.ClientConfig): Promise<pg.Client> {
    return this.connect(async () => {
      const client = new this.Client(options);
      try {
        await client.connect();
        return client;
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      }
    });
  }

  #withFallback<T>(connect: () => Promise<T>, fallback: SslSetting): Promise<T> {
    this.#override = fallback;
    try {
      return connect();
    } finally {
      this.#override = undefined;
    }
  }

  #withOverride(options: pg.ClientConfig | undefined): pg.ClientConfig | undefined {
    const override = this.#override;
    if (override === undefined || options === undefined) return options;
    // Copy every property, the non-enumerable password included, then replace the TLS setting.
    const copy: pg.ClientConfig = Object.defineProperties({}, Object.getOwnPropertyDescriptors(options));
    copy.ssl = copySslSetting(override);
    return copy;
  }
}
