import { writeSync } from 'node:fs';
import { openSqliteJobStore } from '../../src/store/index.ts';
import { runStep } from './crash-plan.ts';

// Crash-test worker: `node crash-child.ts DB START [sole]`. Runs steps START, START+1, … and
// prints each step number on stdout only once `durable()` resolved after it (the group commit's
// WAL sync covered it), with the WAL bytes that sync covered. The parent SIGKILLs it. `sole`: the
// store opened as bitsd opens it, the database's only writer (its WAL size read with fstat).
const [path, start, mode] = process.argv.slice(2);
if (path === undefined || start === undefined) throw new Error('usage: crash-child.ts DB START [sole]');
const store = openSqliteJobStore(path, { soleWriter: mode === 'sole' });
const first = Number(start);
for (let step = first; step < first + 100_000; step++) {
  runStep(store, step);
  await store.durable();
  writeSync(1, `${step} ${store.walSyncedBytes}\n`);
}
store.close();
