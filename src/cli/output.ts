/**
 * Terminal output: one place that decides between text, JSON and quiet, and formats sizes,
 * durations and progress lines. Progress goes to stderr and only to a terminal.
 */

export interface Output {
  json: boolean;
  quiet: boolean;
  /** A line of human text (suppressed by --quiet and --json). */
  info(line: string): void;
  /** One JSON document per line (only with --json). */
  emit(doc: unknown): void;
  warn(line: string): void;
  /** Starts a redrawn status line on a terminal; returns a function that stops it. */
  progress(render: () => string, everyMs?: number): () => void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(2)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

export function makeOutput(opts: { json?: boolean; quiet?: boolean }): Output {
  const json = !!opts.json;
  const quiet = !!opts.quiet;
  const tty = !!process.stderr.isTTY && !json && !quiet;
  return {
    json,
    quiet,
    info: (line) => {
      if (!json && !quiet) process.stdout.write(line + '\n');
    },
    emit: (doc) => {
      if (json) process.stdout.write(JSON.stringify(doc, jsonReplacer) + '\n');
    },
    warn: (line) => process.stderr.write(line + '\n'),
    progress(render, everyMs = 500) {
      if (!tty) return () => undefined;
      const draw = () => process.stderr.write(`\r\x1b[K${render()}`);
      const timer = setInterval(draw, everyMs);
      return () => {
        clearInterval(timer);
        process.stderr.write('\r\x1b[K');
      };
    },
  };
}
