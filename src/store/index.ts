export * from './job-store.ts';
export { MemoryJobStore, type MemoryJobStoreOptions } from './memory-job-store.ts';
export * from './sqlite/index.ts';
