/**
 * Per-stage time accounting (HOLDFAST_PROFILE=1): read, chunk, hash, compress, encrypt,
 * write and the rest add up the time spent in them and the bytes they saw, per thread;
 * worker threads send theirs to the main thread, which prints the table to stderr at exit.
 * When the variable is unset `profiled` is a plain call.
 */
export const profiling = process.env.HOLDFAST_PROFILE === '1';

export interface StageTotals {
  [stage: string]: { ms: number; bytes: number; calls: number };
}

const totals: StageTotals = {};

export function record(stage: string, ms: number, bytes: number): void {
  const t = (totals[stage] ??= { ms: 0, bytes: 0, calls: 0 });
  t.ms += ms;
  t.bytes += bytes;
  t.calls++;
}

export function profiled<T>(stage: string, bytes: number, fn: () => T): T {
  if (!profiling) return fn();
  const started = performance.now();
  try {
    return fn();
  } finally {
    record(stage, performance.now() - started, bytes);
  }
}

export async function profiledAsync<T>(stage: string, bytes: number, fn: () => Promise<T>): Promise<T> {
  if (!profiling) return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    record(stage, performance.now() - started, bytes);
  }
}

/** Takes this thread's totals (a worker sends them to the main thread). */
export function drainTotals(): StageTotals {
  const out = { ...totals };
  for (const k of Object.keys(totals)) delete totals[k];
  return out;
}

export function mergeTotals(from: StageTotals, prefix = ''): void {
  for (const [stage, t] of Object.entries(from)) {
    const into = (totals[prefix + stage] ??= { ms: 0, bytes: 0, calls: 0 });
    into.ms += t.ms;
    into.bytes += t.bytes;
    into.calls += t.calls;
  }
}

/** The table printed at exit: stage, seconds, MB, MB/s, calls; async stages (read, write) overlap others. */
export function formatTotals(t: StageTotals = totals): string {
  const rows = Object.entries(t).sort((a, b) => b[1].ms - a[1].ms);
  const lines = ['holdfast profile (thread time per stage; worker stages are prefixed "worker ")'];
  for (const [stage, v] of rows) {
    const mbs = v.ms > 0 ? (v.bytes / 1e6 / (v.ms / 1000)).toFixed(0) : '-';
    lines.push(
      `  ${stage.padEnd(20)} ${(v.ms / 1000).toFixed(2).padStart(8)} s ${(v.bytes / 1e6).toFixed(0).padStart(8)} MB ${mbs.padStart(7)} MB/s ${String(v.calls).padStart(8)} calls`,
    );
  }
  return lines.join('\n');
}
