/**
 * The drive-by attack on a developer's machine (docs/security.md, "Local
 * stack"): a web page the developer has open sends no-cors `text/plain`
 * fetches to local-cloud — which need no CORS preflight — to create a Cloud
 * Run job whose command is a shell and to run it. A real Chromium loads the
 * page from another loopback port (same-site) and from `localhost`
 * (cross-site); local-cloud must refuse every request and run nothing.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '@slideshow/runtime';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;
let cloud: RunningLocalCloud;
let page: Server;
let pagePort: number;
let browser: Browser;
const logLines: string[] = [];

/** The attacker's page: create a job running a shell, then run it; title "done" when sent. */
function attackPage(cloudUrl: string, marker: string, jobId: string): string {
  const job = {
    template: {
      template: {
        maxRetries: 0,
        containers: [{ image: 'x', command: ['/bin/sh', '-c', `touch ${marker}`] }],
      },
    },
  };
  const jobs = `${cloudUrl}/v2/${PARENT}/jobs`;
  return `<!doctype html><title>loading</title><script>
  const send = (url, body) => fetch(url, {
    method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body,
  }).catch(() => undefined);
  (async () => {
    await send(${JSON.stringify(`${jobs}?jobId=${jobId}`)}, ${JSON.stringify(JSON.stringify(job))});
    await send(${JSON.stringify(`${jobs}/${jobId}:run`)}, '{}');
    await send(${JSON.stringify(`${jobs}/${jobId}:run`)}, '{"overrides":{"taskCount":1000000}}');
    document.title = 'done';
  })();
</script>`;
}

beforeAll(async () => {
  dir = tempDir();
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => logLines.push(...chunk.toString().split('\n')));
  cloud = await startCloud(join(dir, 'data'), { logger: createLogger({ stream }) });
  page = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://page');
    const jobId = url.searchParams.get('job') ?? 'pwn';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(attackPage(cloud.url, join(dir, `${jobId}-ran`), jobId));
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pagePort = (page.address() as AddressInfo).port;
});
afterAll(async () => {
  await browser?.close();
  page?.closeAllConnections();
  await new Promise((resolve) => page?.close(resolve));
  await cloud?.stop();
  removeDir(dir);
});

describe.skipIf(!existsSync(CHROMIUM))(
  'a web page in Chromium against local-cloud (skipped where /usr/bin/chromium is not installed; .ci/run installs it)',
  () => {
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
    });

    for (const [what, origin, jobId] of [
      [
        'from another port of 127.0.0.1 (same-site)',
        () => `http://127.0.0.1:${pagePort}`,
        'samesite',
      ],
      ['from localhost (cross-site)', () => `http://localhost:${pagePort}`, 'crosssite'],
    ] as const) {
      it(`refuses no-cors fetches ${what} and runs nothing`, async () => {
        const before = logLines.filter((l) =>
          l.includes('refuses requests made by web pages'),
        ).length;
        const tab = await browser.newPage();
        try {
          await tab.goto(`${origin()}/?job=${jobId}`);
          // A string: this package compiles without the DOM library.
          await tab.waitForFunction("document.title === 'done'", undefined, { timeout: 30_000 });
        } finally {
          await tab.close();
        }
        const job = await api(cloud, 'GET', `/v2/${PARENT}/jobs/${jobId}`);
        expect(job.status, JSON.stringify(job)).toBe(404);
        // Each of the three requests reached local-cloud and was refused as a web page's.
        await waitFor(
          () =>
            logLines.filter((l) => l.includes('refuses requests made by web pages')).length -
              before >=
            3
              ? true
              : undefined,
          'three refusals in the log',
          5_000,
        );
        expect(existsSync(join(dir, `${jobId}-ran`))).toBe(false);
      });
    }
  },
);
