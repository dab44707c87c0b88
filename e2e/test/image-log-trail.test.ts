/**
 * One image's way through the local stack's logs (docs/operations.md,
 * "Monitoring"): every stage's line — accepted, dispatched, the workflow
 * execution, the Cloud Run job execution, the processor's lines, the callbacks
 * — names the image under `imageId`, and the operations page's grep | jq
 * recipe, given nothing but the image id, shows all of them in time order.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeSampleImages } from '@slideshow/tools/sample-images';
import { repoRoot } from '@slideshow/tools/shared-dir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshStack, logTrail, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;
type Line = Record<string, unknown>;

/** The lines each service must log for a processed image. */
const STAGES: readonly { service: string; message: string }[] = [
  { service: 'backend', message: 'image accepted' },
  { service: 'backend', message: 'dispatched' },
  { service: 'local-cloud', message: 'workflow execution started' },
  { service: 'local-cloud', message: 'processor starting' },
  { service: 'backend', message: 'processing started' },
  { service: 'local-cloud', message: 'image processed' },
  { service: 'backend', message: 'processing complete' },
  { service: 'local-cloud', message: 'job execution succeeded' },
  { service: 'local-cloud', message: 'workflow execution succeeded' },
];

/** The JSON lines of one of the stack's log files. */
function linesOf(stack: Stack, file: string): Line[] {
  return readFileSync(join(stack.dataDir, 'logs', file), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Line);
}

/**
 * Waits (bounded) until local-cloud has logged the end of a workflow execution: the image's,
 * as the stack runs no other (whether the line names it is for the tests to say).
 */
async function waitForWorkflowEnd(stack: Stack, id: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const lines = linesOf(stack, 'local-cloud.log');
    if (lines.some((l) => l.message === 'workflow execution succeeded')) return;
    await sleep(250);
  }
  throw new Error(`no workflow execution ended\n${logTrail(stack, [id])}`);
}

/** The `sh` block of operations.md that follows one image through the logs. */
function documentedRecipe(): string {
  const text = readFileSync(join(repoRoot, 'docs/operations.md'), 'utf8');
  const blocks = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  const recipe = blocks.find((block) => block.startsWith('ID=img_'));
  if (recipe === undefined) throw new Error('docs/operations.md has no sh block starting ID=img_');
  return recipe;
}

const hasJq = () => spawnSync('jq', ['--version'], { stdio: 'ignore' }).status === 0;

describe("one image's log trail through the local stack", () => {
  let stack: Stack;
  let id: string;
  beforeAll(async () => {
    stack = await freshStack();
    const [sample] = await makeSampleImages(1);
    [id] = (await upload(stack, [sample!])) as [string];
    const [row] = await waitForTerminal(stack, [id]);
    expect(row?.status).toBe('processed');
    await waitForWorkflowEnd(stack, id);
  }, 180_000);
  afterAll(async () => {
    await stack?.dispose();
  });

  it("names the image on every stage's line, backend and local-cloud alike", () => {
    const lines = [...linesOf(stack, 'backend.log'), ...linesOf(stack, 'local-cloud.log')];
    for (const stage of STAGES) {
      const named = lines.filter(
        (l) => l.service === stage.service && l.message === stage.message && l.imageId === id,
      );
      expect(named, `${stage.service} "${stage.message}" with imageId ${id}`).not.toEqual([]);
    }
    // This stack ran one image: every line about an execution or a dispatch is about it.
    const unnamed = lines
      .filter((l) => l.execution !== undefined || l.dispatchKey !== undefined)
      .filter((l) => l.imageId !== id)
      .map((l) => `${String(l.service)} ${String(l.message)}`);
    expect(unnamed).toEqual([]);
  });

  it.skipIf(!hasJq())(
    'shows every stage with the recipe of docs/operations.md, given the id',
    () => {
      // The recipe reads .data/logs, as from the repository's root on the local stack.
      const cwd = mkdtempSync(join(tmpdir(), 'log-recipe-'));
      try {
        symlinkSync(stack.dataDir, join(cwd, '.data'));
        const script = documentedRecipe().replace(/^ID=img_…$/m, `ID=${id}`);
        const run = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], {
          cwd,
          encoding: 'utf8',
        });
        expect(run.status, `${run.stderr}\n${script}`).toBe(0);
        const shown = run.stdout
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Line);
        const messages = new Set(shown.map((l) => `${String(l.service)} ${String(l.message)}`));
        const missing = STAGES.map((s) => `${s.service} ${s.message}`).filter(
          (stage) => !messages.has(stage),
        );
        expect(missing, run.stdout).toEqual([]);
        // In time order, both files together.
        const times = shown.map((l) => String(l.time));
        expect(times).toEqual([...times].sort());
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    },
  );
});
