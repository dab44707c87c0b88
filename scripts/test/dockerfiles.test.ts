/**
 * Checks over the two Dockerfiles' runtime stages (no Docker engine here): who
 * owns the directories the non-root user writes, and what Litestream needs to
 * reach Cloud Storage over TLS. The ownership model is in ./helpers/dockerfile.ts.
 */
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Instruction, readStages, replay } from './helpers/dockerfile.ts';

const DOCKERFILES = ['apps/backend/Dockerfile', 'apps/processor/Dockerfile'];

async function runtimeStage(path: string): Promise<Instruction[]> {
  const stage = (await readStages(path)).at(-1);
  if (!stage) throw new Error(`${path} has no stage`);
  return stage;
}

describe('the runtime stages of the Dockerfiles', () => {
  it.each(DOCKERFILES)(
    '%s: gives the runtime user every directory it copies with --chown, the destination itself included',
    async (path) => {
      const stage = await runtimeStage(path);
      const layout = replay(stage);
      expect(layout.user).toBe('node');
      const copies = stage.filter((i) => i.keyword === 'COPY' && i.args.includes('--chown='));
      expect(copies.length).toBeGreaterThan(0);
      for (const copy of copies) {
        const destination = copy.args.split(/\s+/).at(-1) ?? '';
        expect(`${destination} owned by ${layout.owners.get(destination)}`, copy.args).toBe(
          `${destination} owned by node`,
        );
      }
    },
  );

  it('apps/processor/Dockerfile: lets the node user create the compile cache that the build warms up', async () => {
    const warmUps: string[] = [];
    replay(await runtimeStage('apps/processor/Dockerfile'), (instruction, layout) => {
      if (instruction.keyword !== 'RUN' || !instruction.args.includes('dist/processor.mjs')) return;
      const cache = layout.env.get('NODE_COMPILE_CACHE') ?? '(unset)';
      const parent = dirname(cache);
      warmUps.push(
        `as ${layout.user}: ${cache} in ${parent} owned by ${layout.owners.get(parent)}`,
      );
    });
    expect(warmUps).toEqual(['as node: /app/.compile-cache in /app owned by node']);
  });

  // Litestream (Go) verifies TLS against the system's roots, which node:*-slim purges
  // (ca-certificates is installed only to download Node, then removed); Node itself
  // carries its own, so nothing else in the image would notice.
  it('apps/backend/Dockerfile: installs the CA certificates in the stage that runs Litestream, and keeps them', async () => {
    const stage = await runtimeStage('apps/backend/Dockerfile');
    expect(stage[0]?.args).toMatch(/^node:\d+-slim$/);
    expect(stage.some((i) => i.keyword === 'COPY' && /--from=litestream\b/.test(i.args))).toBe(
      true,
    );
    const runs = stage.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    expect(
      runs.filter((r) => /apt-get install (-\S+ )*[^&;]*\bca-certificates\b/.test(r)),
    ).toHaveLength(1);
    expect(runs.filter((r) => /apt-get (purge|remove|autoremove)|apt-mark auto/.test(r))).toEqual(
      [],
    );
  });

  it('apps/backend/Dockerfile: lets the node user write the database directory', async () => {
    const layout = replay(await runtimeStage('apps/backend/Dockerfile'));
    const data = layout.env.get('DATA_DIR') ?? '(unset)';
    expect(`${data} owned by ${layout.owners.get(data)}`).toBe('/var/lib/slideshow owned by node');
    expect(dirname(layout.env.get('DATABASE_PATH') ?? '')).toBe(data);
  });
});
