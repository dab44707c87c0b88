/**
 * Finds the stack's processes through /proc (Linux): the local stack does not
 * hand out pids, and processor attempts are grandchildren started by
 * local-cloud. A process belongs to the stack when its command line names the
 * entry point and its environment holds the stack's own marker (its data
 * folder or backend URL), so parallel stacks on one machine never mix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { coerceError } from '@slideshow/runtime';
import { FAULT_ENTRIES } from './entries.ts';

/** Which process of the stack. */
export type StackProcess = 'backend' | 'local-cloud' | 'processor';

/** Entry points of each kind: the production one and, where there is one, the fault entry. */
const ENTRIES: Record<StackProcess, string[]> = {
  backend: ['apps/backend/src/main.ts', FAULT_ENTRIES.backend],
  'local-cloud': ['apps/local-cloud/src/main.ts'],
  processor: ['apps/processor/dist/processor.mjs', FAULT_ENTRIES.processor],
};

function readProc(pid: string, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch (error) {
    // The process may exit between readdir and read: that is not an error here.
    const e = coerceError(error);
    if (/ENOENT|ESRCH|EACCES/.test(e.message)) return undefined;
    throw e;
  }
}

/** Pids of the stack's processes of one kind; `marker` is an `NAME=value` environment entry. */
export function findPids(kind: StackProcess, marker: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = readProc(pid, 'cmdline');
    if (!ENTRIES[kind].some((entry) => cmdline?.includes(entry))) continue;
    const environ = readProc(pid, 'environ');
    if (!environ?.split('\0').includes(marker)) continue;
    out.push(Number(pid));
  }
  return out;
}

/** Sends SIGKILL to each pid; a process that already exited is skipped. Returns how many were killed. */
export function killAll(pids: number[]): number {
  let killed = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch (error) {
      const e = coerceError(error);
      if (!e.message.includes('ESRCH')) throw e;
    }
  }
  return killed;
}

/** Resident set size now and at its peak (VmRSS, VmHWM) of a pid in MB, or undefined once it exited. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } | undefined {
  const status = readProc(String(pid), 'status');
  if (!status) return undefined;
  const field = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) / 1024;
  return { rssMb: field('VmRSS'), peakMb: field('VmHWM') };
}
