/** Small timing helpers shared by the benchmark suites: latency percentiles and throughput. */
import { performance } from 'node:perf_hooks';

export interface Latency {
  p50: number;
  p99: number;
  mean: number;
}

/**
 * Runs `operation` `count` times one after another (fewer once `budgetMs` has passed, so that slow cases keep the
 * suite short) and returns latency percentiles in milliseconds.
 */
export async function measureLatency(count: number, operation: (i: number) => Promise<unknown>, budgetMs = Infinity): Promise<Latency> {
  const samples: number[] = [];
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const start = performance.now();
    await operation(i);
    samples.push(performance.now() - start);
  }
  return summarize(samples);
}

/** Runs `total` operations with `concurrency` in flight and returns operations per second and latency. */
export async function measureThroughput(
  total: number,
  concurrency: number,
  operation: (i: number) => Promise<unknown>,
): Promise<{ perSecond: number; latency: Latency }> {
  const samples: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const start = performance.now();
      await operation(i);
      samples.push(performance.now() - start);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: total / seconds, latency: summarize(samples) };
}

export function summarize(samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length) };
}

/** Formats a number with a fixed precision for the report tables. */
export function fmt(value: number, digits = 2): string {
  return value.toFixed(digits);
}
