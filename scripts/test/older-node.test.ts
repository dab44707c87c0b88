/**
 * The operator scripts with an older Node first on PATH, as on a Debian machine
 * whose system Node is 20 (it cannot run .ts files): they must run their
 * TypeScript helpers with the project's Node (scripts/lib/common.sh → tools/bootstrap.sh)
 * instead of failing with ERR_UNKNOWN_FILE_EXTENSION. The older Node is a stand-in
 * `node` on PATH that answers the version probe with 20 and refuses everything else.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import { hostPath } from './helpers/config.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  runScript,
  scriptsDir,
} from './helpers/gcloud-double.ts';

const OLD_NODE = `#!/bin/sh
# Node 20 as far as these scripts can tell: major version 20, no TypeScript.
case "$*" in
  *process.versions.node*) echo 20 ;;
  -v | --version) echo v20.20.2 ;;
  *) echo 'TypeError [ERR_UNKNOWN_FILE_EXTENSION]: Unknown file extension ".ts"' >&2; exit 1 ;;
esac
`;

/** True when tools/bootstrap.sh has put the project's Node into .tools/ (it then needs no download). */
async function projectNodeInstalled(): Promise<boolean> {
  const dir = join(scriptsDir, '../.tools/node/node_modules');
  if (!existsSync(dir)) return false;
  return (await readdir(dir)).some((name) => existsSync(join(dir, name, 'bin/node')));
}

const installed = await projectNodeInstalled();

describe.skipIf(!installed)(
  'the ops scripts with Node 20 first on PATH (skipped unless .tools/ holds the project Node: with a new-enough system Node, bootstrap installs none)',
  () => {
    let work: string;
    let oldNodePath: string;
    let server: AdminServer | undefined;
    let gcloud: GcloudDouble;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'ops-old-node-'));
      await mkdir(join(work, 'bin'));
      await writeFile(join(work, 'bin/node'), OLD_NODE);
      await chmod(join(work, 'bin/node'), 0o755);
      gcloud = await createGcloudDouble([
        { match: 'run services describe backend *status.traffic*', stdout: 'backend-00002-b' },
        {
          match: 'run revisions list --service=backend *',
          stdout: JSON.stringify(
            ['backend-00002-b', 'backend-00001-a'].map((name, i) => ({
              metadata: { name, creationTimestamp: `2026-11-2${2 - i}T00:00:00Z` },
              status: { conditions: [{ type: 'Ready', status: 'True' }] },
            })),
          ),
        },
      ]);
      oldNodePath = `${join(work, 'bin')}:${join(gcloud.dir, 'bin')}:${hostPath}`;
    });
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });
    afterAll(async () => {
      await gcloud?.cleanup();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('the stand-in fails on a TypeScript file like Node 20 does', async () => {
      const failure = await promisify(execFile)(
        'node',
        [join(scriptsDir, 'src/rollback/ready-revisions.ts')],
        { env: { PATH: oldNodePath } },
      ).catch((error: unknown) => error as { code: number; stderr: string });
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { stderr: string }).stderr).toContain('ERR_UNKNOWN_FILE_EXTENSION');
    });

    it('scripts/requeue-failed runs with the project Node', async () => {
      server = await startAdminServer([failedTask('img-a', 'TIMEOUT', '2026-11-22T10:00:00.000Z')]);
      const result = await runScript('requeue-failed', ['--dry-run'], {
        PATH: oldNodePath,
        BACKEND_URL: server.url,
        ADMIN_TOKEN: server.token,
      });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
      expect(result.stdout).toContain('1 selected (TIMEOUT=1)');
    });

    it('scripts/rollback finds the previous ready backend revision with the project Node', async () => {
      const result = await runScript(
        'rollback',
        ['--dry-run', '--no-requeue', '--project', 'demo', 'backend'],
        { ...gcloud.env, PATH: oldNodePath },
      );
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toContain('backend: 100% of traffic to backend-00001-a');
    });
  },
);
