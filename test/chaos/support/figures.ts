/**
 * Figures of the chaos runs (counts, recovery times), printed as one JSON line each so that
 * `docs/reliability.md` can quote them. Printed, never asserted against a threshold.
 */
export function reportFigures(scenario: string, figures: Record<string, unknown>): void {
  console.log(`      chaos-figures ${JSON.stringify({ scenario, ...figures })}`);
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded. */
export function elapsedMs(start: number): number {
  return Math.round(performance.now() - start);
}

/** The value below which `share` of the sorted samples fall (nearest rank); 0 for no samples. */
export function percentile(samples: readonly number[], share: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] ?? 0;
}
