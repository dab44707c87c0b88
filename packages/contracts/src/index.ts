export * from './error-codes.ts';
export * from './image-result.ts';
export * from './processing.ts';
