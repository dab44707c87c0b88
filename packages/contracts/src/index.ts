export * from './admin-failed-tasks.ts';
export * from './admin-images.ts';
export * from './error-codes.ts';
export * from './image-result.ts';
export * from './processing.ts';
