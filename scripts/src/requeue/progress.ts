/**
 * Progress for long re-queue runs, on stderr so stdout stays a clean summary.
 * On a terminal: one bar redrawn in place. Elsewhere (CI logs, files): a plain
 * line every `every` items and at the end, so logs stay readable.
 */

/** Something to report progress to. */
export interface Progress {
  tick(ok: boolean): void;
  done(): void;
}

/** Options for {@link createProgress}. */
export interface ProgressOptions {
  total: number;
  stream: { write(chunk: string): unknown; isTTY?: boolean; columns?: number };
  /** Plain mode: print a line every this many items (default: ~10 lines per run). */
  every?: number;
  label?: string;
}

/** Creates a TTY-aware progress reporter. */
export function createProgress(options: ProgressOptions): Progress {
  const { total, stream } = options;
  const label = options.label ?? 'requeue';
  const tty = stream.isTTY === true;
  const every = options.every ?? Math.max(1, Math.ceil(total / 10));
  let done = 0;
  let failed = 0;

  function counts(): string {
    return `${done}/${total}${failed ? ` (${failed} failed)` : ''}`;
  }

  function draw(): void {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 40));
    const filled = total === 0 ? width : Math.round((done / total) * width);
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    stream.write(
      `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(percent).padStart(3)}% ${counts()}`,
    );
  }

  return {
    tick(ok) {
      done++;
      if (!ok) failed++;
      if (tty) draw();
      else if (done % every === 0 && done !== total) stream.write(`${label}: ${counts()}\n`);
    },
    done() {
      if (tty) {
        draw();
        stream.write('\n');
      } else {
        stream.write(`${label}: ${counts()}\n`);
      }
    },
  };
}
