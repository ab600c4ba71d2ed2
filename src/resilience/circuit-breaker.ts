import { BrokenCircuitError, CircuitState as CockatielState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { CircuitOpenError } from '../errors/circuit-open-error.js';
import { classifyError } from './classify-error.js';

/** Where a breaker stands: `closed` lets everything through, `open` nothing, `half-open` one probe. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** One change of a breaker's state. */
export interface CircuitStateChange {
  /** The breaker's {@link CircuitBreaker.name}. */
  readonly breaker: string;
  /** The state it left. */
  readonly from: CircuitState;
  /** The state it entered. */
  readonly to: CircuitState;
  /** The failure that opened it (when `to` is `open`). */
  readonly error?: unknown;
}

/** Settings of {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Name in logs, metrics and `CircuitOpenError`. Default: the pool's name. */
  readonly name?: string;
  /** Consecutive connection failures that open the breaker. Default 5. */
  readonly threshold?: number;
  /** Milliseconds the breaker stays open before it lets one probe through. Default 1000. */
  readonly halfOpenAfterMs?: number;
}

/** Defaults of {@link CircuitBreakerOptions}. */
export const CIRCUIT_BREAKER_DEFAULTS = Object.freeze({
  /** {@link CircuitBreakerOptions.threshold}: 5 consecutive failures. */
  threshold: 5,
  /** {@link CircuitBreakerOptions.halfOpenAfterMs}: 1 second. */
  halfOpenAfterMs: 1000,
});

/**
 * A circuit breaker on connection failures (see {@link isBreakerFailure}). While it is open, work
 * fails at once with `CircuitOpenError` without touching the network; after `halfOpenAfterMs` the
 * next call is a probe (other calls meanwhile still fail fast): its success closes the breaker, its
 * failure opens it again.
 */
export interface CircuitBreaker {
  /** The breaker's name ({@link CircuitBreakerOptions.name}), as logs, metrics and `CircuitOpenError` show it. */
  readonly name: string;
  /** The current state. */
  readonly state: CircuitState;
  /** Milliseconds until a probe may pass: 0 unless the breaker is open. */
  retryAfterMs(): number;
  /** Calls `listener` on every state change; returns a function that removes it. The listener must not throw. */
  onStateChange(listener: (change: CircuitStateChange) => void): () => void;
  /** Runs `work` unless the breaker refuses it with `CircuitOpenError`; records its outcome. */
  execute<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Whether a failure counts against the breaker: a connection-class failure (refused, reset,
 * timed out, server shutting down or starting up, SQLSTATE class `08`), except `53300` *too many
 * connections*: the server is up but full, and backing off (the retry policy) is the answer,
 * not refusing all work. A `CircuitOpenError` never counts.
 */
export function isBreakerFailure(error: unknown): boolean {
  if (error instanceof CircuitOpenError) return false;
  const { kind, code } = classifyError(error);
  return kind === 'connection' && code !== '53300';
}

/** SQLSTATE codes: five characters of digits and capital letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Whether an error is an answer from the server (e.g. `28P01` wrong password), not a failure to reach it. */
function serverAnswered(error: unknown): boolean {
  const { kind, code } = classifyError(error);
  return kind !== 'connection' && code !== undefined && SQLSTATE.test(code);
}

function fromCockatiel(state: CockatielState): CircuitState {
  switch (state) {
    case CockatielState.Closed:
      return 'closed';
    case CockatielState.HalfOpen:
      return 'half-open';
    default:
      return 'open';
  }
}

function positiveInteger(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new TypeError(`breaker.${field} must be an integer >= ${min}`);
  }
  return value;
}

class CockatielCircuitBreaker implements CircuitBreaker {
  readonly name: string;
  readonly #policy: CircuitBreakerPolicy;
  readonly #halfOpenAfterMs: number;
  readonly #listeners = new Set<(change: CircuitStateChange) => void>();
  #state: CircuitState = 'closed';
  #openedAt = 0;

  constructor(name: string, threshold: number, halfOpenAfterMs: number) {
    this.name = name;
    this.#halfOpenAfterMs = halfOpenAfterMs;
    // cockatiel records an error its filter does not handle as a success, also for the half-open
    // probe: a probe that was aborted, timed out waiting or met a closed pool proves nothing about
    // the server, so it must not close the breaker. During the probe, only an answer from the
    // server (an SQLSTATE outside the connection class) counts as a success.
    const isFailure = (error: unknown): boolean =>
      isBreakerFailure(error) || (this.#policy.state === CockatielState.HalfOpen && !serverAnswered(error));
    this.#policy = circuitBreaker(handleWhen(isFailure), {
      halfOpenAfter: halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(threshold),
    });
    this.#policy.onStateChange((next) => this.#changed(fromCockatiel(next)));
  }

  get state(): CircuitState {
    // cockatiel moves from open to half-open lazily, on the next call: report what a call would meet
    if (this.#state === 'open' && this.retryAfterMs() === 0) return 'half-open';
    return this.#state;
  }

  retryAfterMs(): number {
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.#halfOpenAfterMs - Date.now());
  }

  onStateChange(listener: (change: CircuitStateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async execute<T>(work: () => Promise<T>): Promise<T> {
    // cockatiel makes callers that arrive during the half-open probe wait for its outcome; here they fail fast
    if (this.#state === 'half-open') throw new CircuitOpenError({ name: this.name, retryAfterMs: 0 }, this.#lastError());
    try {
      return await this.#policy.execute(work);
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new CircuitOpenError({ name: this.name, retryAfterMs: this.retryAfterMs() }, this.#lastError());
      }
      throw error;
    }
  }

  #lastError(): unknown {
    const last = this.#policy.lastFailure;
    return last !== undefined && 'error' in last ? last.error : undefined;
  }

  #changed(to: CircuitState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    if (to === 'open') this.#openedAt = Date.now();
    const last = this.#policy.lastFailure;
    const change: CircuitStateChange = Object.freeze({
      breaker: this.name,
      from,
      to,
      ...(to === 'open' && last !== undefined && 'error' in last ? { error: last.error } : {}),
    });
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // a listener must not change the breaker's outcome
      }
    }
  }
}

/** Creates a {@link CircuitBreaker} (cockatiel's `ConsecutiveBreaker` under it). Throws `TypeError` for invalid options. */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const threshold = positiveInteger('threshold', options.threshold, CIRCUIT_BREAKER_DEFAULTS.threshold, 1);
  const halfOpenAfterMs = positiveInteger('halfOpenAfterMs', options.halfOpenAfterMs, CIRCUIT_BREAKER_DEFAULTS.halfOpenAfterMs, 0);
  return new CockatielCircuitBreaker(options.name ?? 'default', threshold, halfOpenAfterMs);
}
