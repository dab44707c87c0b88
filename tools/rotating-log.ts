/**
 * A service's log file in the local stack (`logs/<service>.log`) that does not
 * grow without end: once it holds `maxBytes`, it is renamed `<service>.log.1`
 * (replacing the one before) and a new file begins. So each service keeps at
 * most about twice `maxBytes` on disk (a chunk may cross the limit before the
 * turn), however long `npm start` runs; a restart appends to the current file.
 *
 * The turn renames the file while its old stream may still be writing: on
 * POSIX the stream's descriptor follows the renamed file, so no line is lost
 * or lands in the new file out of order.
 */
import { once } from 'node:events';
import { createWriteStream, openSync, renameSync, statSync, type WriteStream } from 'node:fs';

/** Default size at which a log turns over: 16 MiB (about 2,000 images' worth of logs). */
export const LOG_MAX_BYTES = 16 * 1024 * 1024;

/** A log file that turns over at a size; `onError` hears of the first failed write or turn. */
export interface RotatingLog {
  write(chunk: Buffer): void;
  /** Ends the file; resolves once every stream it opened has closed. */
  end(): Promise<void>;
}

export function openRotatingLog(
  file: string,
  maxBytes: number,
  onError: (error: NodeJS.ErrnoException) => void,
): RotatingLog {
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    // Not there yet: the stream creates it.
  }
  const closing = new Set<Promise<unknown>>();
  // Opened synchronously, so the file exists before the next write may turn it over.
  const open = (): WriteStream | undefined => {
    let fd: number;
    try {
      fd = openSync(file, 'a');
    } catch (error) {
      onError(error as NodeJS.ErrnoException);
      return undefined;
    }
    const opened = createWriteStream('', { fd });
    opened.on('error', onError);
    // Kept until it has closed, so end() can wait for it; then let go (a log left running
    // turns over many times).
    const done = once(opened, 'close')
      .catch(() => undefined)
      .finally(() => closing.delete(done));
    closing.add(done);
    return opened;
  };
  let stream = open();
  return {
    write(chunk) {
      if (size >= maxBytes) {
        stream?.end();
        try {
          renameSync(file, `${file}.1`);
        } catch (error) {
          onError(error as NodeJS.ErrnoException);
        }
        stream = open();
        size = 0;
      }
      stream?.write(chunk);
      size += chunk.length;
    },
    async end() {
      stream?.end();
      await Promise.all([...closing]);
    },
  };
}
