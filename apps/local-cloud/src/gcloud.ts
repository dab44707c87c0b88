/**
 * `node apps/local-cloud/src/gcloud.ts <gcloud arguments>`: runs the real
 * gcloud against the local-cloud that LOCAL_CLOUD_PORT / LOCAL_CLOUD_DATA_DIR
 * / LOCAL_CLOUD_PROJECT / LOCAL_CLOUD_LOCATION name (the defaults match
 * `npm start`), with the environment of gcloud-env.ts and a gcloud
 * configuration directory of its own (`<data dir>/gcloud-config`, unless
 * CLOUDSDK_CONFIG is set), so the user's real account and project are never
 * used. Exits with gcloud's status.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from './config.ts';
import { gcloudEnvironment } from './gcloud-env.ts';

const config = loadConfig();
const tokenFile = join(config.dataDir, 'local-cloud.token');
if (!existsSync(tokenFile)) {
  process.stderr.write(
    `No local-cloud token in ${tokenFile}: start local-cloud (npm start) first, or set LOCAL_CLOUD_DATA_DIR to its data directory.\n`,
  );
  process.exit(2);
}
// gcloud runs with the user's environment (PATH, HOME, proxies) plus what points it here.
const env = {
  ...process.env,
  CLOUDSDK_CONFIG: config.gcloudConfigDir,
  ...gcloudEnvironment({
    port: config.port,
    tokenFile,
    projectId: config.projectId,
    location: config.location,
  }),
};
const child = spawn('gcloud', process.argv.slice(2), { stdio: 'inherit', env });
child.on('error', (error) => {
  process.stderr.write(`Could not run gcloud: ${error.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
