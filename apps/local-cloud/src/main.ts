/**
 * Composition root of local-cloud: reads the configuration, starts the
 * server on 127.0.0.1, and on SIGTERM, SIGINT or SIGHUP (a closed terminal)
 * stops dispatching, stops job children (SIGINT, then SIGKILL after the
 * grace; they run in process groups of their own, so only this reaches them)
 * and exits with state saved.
 */
import { coerceError, createLogger } from '@slideshow/runtime';
import { loadConfig } from './config.ts';
import { startLocalCloud } from './server.ts';

const config = loadConfig();
const logger = createLogger({ level: config.logLevel, fields: { service: 'local-cloud' } });
const cloud = await startLocalCloud({
  port: config.port,
  dataDir: config.dataDir,
  projectId: config.projectId,
  location: config.location,
  workdir: config.workdir,
  killGraceMs: config.killGraceMs,
  maxRunningTasks: config.maxRunningTasks,
  jobCommands: config.jobCommands,
  secretFiles: config.secretFiles,
  jobPinnedEnv: config.jobPinnedEnv,
  outboundHosts: config.outboundHosts,
  logger,
  ...(config.oidcToken ? { oidcToken: config.oidcToken } : {}),
  ...(config.historyRetentionMs === undefined
    ? {}
    : { historyRetentionMs: config.historyRetentionMs }),
  ...(config.queueTombstoneMs === undefined
    ? {}
    : { tasksRules: { queueTombstoneMs: config.queueTombstoneMs } }),
});
logger.info('local-cloud ready', {
  url: cloud.url,
  parent: cloud.parent,
  credentialFile: cloud.tokenFile,
  jobCommands: config.jobCommands.length,
  jobPinnedEnv: Object.keys(config.jobPinnedEnv),
});

let shuttingDown = false;
const shutdown = (signal: string) => {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info('shutting down', { signal });
  cloud.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error('shutdown failed', { error: coerceError(error) });
      process.exit(1);
    },
  );
};
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(signal, () => shutdown(signal));
}
if (config.stopWhenStdinCloses) {
  // npm start's launcher holds stdin's other end: it is closed once the launcher is gone.
  process.stdin.on('end', () => shutdown('stdin closed')).resume();
}
