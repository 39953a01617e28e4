export { migrate, schemaVersion } from './migrate.ts';
export { MIGRATIONS, type Migration, SCHEMA_VERSION } from './migrations.ts';
export { openSqliteJobStore, type SqliteJobStoreOptions } from './open-sqlite-job-store.ts';
export { type DurabilitySettings, SqliteJobStore } from './sqlite-job-store.ts';
