/**
 * The operator scripts with an older Node first on PATH, as on a Debian machine
 * whose system Node is 20, or one with a Node 22 from before 22.18 (neither
 * runs .ts files unflagged): they must run their TypeScript helpers with the
 * project's Node (scripts/lib/common.sh → tools/bootstrap.sh) instead of
 * failing with ERR_UNKNOWN_FILE_EXTENSION — every helper, the workflow
 * rollback's included. The older Node is a stand-in `node` on PATH that
 * answers the version probe and refuses everything else.
 */

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isPasswordHash, verifyPassword } from '../../apps/backend/src/auth/password.ts';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import { hostPath } from './helpers/config.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  removeKeptFiles,
  runScript,
  scriptsDir,
} from './helpers/gcloud-double.ts';
import {
  type RevisionsServer,
  startRevisionsServer,
} from './helpers/workflows-revisions-server.ts';

/** A stand-in for an older Node: its version as far as these scripts can tell, and no TypeScript. */
function oldNode(version: string): string {
  return `#!/bin/sh
case "$*" in
  *process.versions.node*) echo ${version.split('.')[0]} ;;
  -v | --version) echo v${version} ;;
  *) echo 'TypeError [ERR_UNKNOWN_FILE_EXTENSION]: Unknown file extension ".ts"' >&2; exit 1 ;;
esac
`;
}

const WORKFLOW = 'projects/demo/locations/europe-west1/workflows/process-image';

/** True when tools/bootstrap.sh has put the project's Node into .tools/ (it then needs no download). */
async function projectNodeInstalled(): Promise<boolean> {
  const dir = join(scriptsDir, '../.tools/node/node_modules');
  if (!existsSync(dir)) return false;
  return (await readdir(dir)).some((name) => existsSync(join(dir, name, 'bin/node')));
}

const installed = await projectNodeInstalled();

describe.skipIf(!installed).each(['20.20.2', '22.10.0'])(
  'the ops scripts with Node %s first on PATH (skipped unless .tools/ holds the project Node: with the project Node on PATH, bootstrap installs none)',
  (version) => {
    let work: string;
    let oldNodePath: string;
    let server: AdminServer | undefined;
    let gcloud: GcloudDouble;
    let revisionsApi: RevisionsServer;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), 'ops-old-node-'));
      await mkdir(join(work, 'bin'));
      await writeFile(join(work, 'bin/node'), oldNode(version));
      await chmod(join(work, 'bin/node'), 0o755);
      revisionsApi = await startRevisionsServer({ [WORKFLOW]: ['000002-bad', '000001-good'] });
      gcloud = await createGcloudDouble([
        { match: 'config get api_endpoint_overrides/workflows', stdout: revisionsApi.url },
        { match: 'auth print-access-token', stdout: 'tok-123' },
        {
          match: 'workflows describe process-image --revision-id=000001-good *',
          stdout: JSON.stringify({
            name: WORKFLOW,
            revisionId: '000001-good',
            sourceContents: '# good workflow',
            serviceAccount: 'projects/demo/serviceAccounts/wf@demo.iam.gserviceaccount.com',
          }),
        },
        {
          match: 'workflows describe process-image * --format=value(revisionId)',
          stdout: '000002-bad',
        },
        notFound('workflows describe process-batch *'),
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
      await revisionsApi?.close();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('the stand-in fails on a TypeScript file like that Node does', async () => {
      const failure = await promisify(execFile)(
        'node',
        [join(scriptsDir, 'src/rollback/ready-revisions.ts')],
        { env: { PATH: oldNodePath } },
      ).catch((error: unknown) => error as { code: number; stderr: string });
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { stderr: string }).stderr).toContain('ERR_UNKNOWN_FILE_EXTENSION');
    });

    it('scripts/hash-password prints a hash the backend accepts, with the project Node', async () => {
      const result = await runScript(
        'hash-password',
        [],
        { PATH: oldNodePath },
        'a long admin passphrase',
      );
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
      const hash = result.stdout.trim();
      expect(isPasswordHash(hash), hash).toBe(true);
      expect(await verifyPassword('a long admin passphrase', hash)).toBe(true);
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

    it("scripts/rollback reads the workflow's revision history with the project Node", async () => {
      const result = await runScript(
        'rollback',
        ['--dry-run', '--no-requeue', '--project', 'demo', 'workflow'],
        { ...gcloud.env, PATH: oldNodePath },
      );
      await removeKeptFiles(result.stderr);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
      expect(result.stderr).toContain(
        'workflow: process-image back to revision 000001-good (now 000002-bad)',
      );
    });
  },
);
