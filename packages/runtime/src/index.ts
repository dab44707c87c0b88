export * from './app-error.ts';
export * from './logger.ts';
export * from './retry.ts';
