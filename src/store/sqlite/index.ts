export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './migrations.ts';
export { openSqliteJobStore, type SqliteJobStoreOptions } from './open-sqlite-job-store.ts';
export { SqliteJobStore } from './sqlite-job-store.ts';
