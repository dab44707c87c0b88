export * from './app-error.ts';
export * from './logger.ts';
export * from './map-limit.ts';
export * from './retry.ts';
