import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { MemoryJobStore, openSqliteJobStore } from '../../src/store/index.ts';
import { jobsUpTo, runStep } from './crash-plan.ts';
import { snapshot } from './store-fixtures.ts';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const ROUNDS = 50;
const POWER_ROUNDS = 30;

/** Small seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Run the child from step `start` and SIGKILL it `delayMs` after it starts (or after its first
 * reported step, so most kills land mid-run); returns the steps it reported durable and the WAL
 * bytes the group commit had synced when it reported the last one (null: none reported).
 * `soleWriter`: the child opens the store as bitsd does (SqliteJobStoreOptions.soleWriter).
 */
async function runAndKill(
  path: string,
  start: number,
  delayMs: number,
  afterFirstStep: boolean,
  soleWriter: boolean,
): Promise<{ reported: number; syncedBytes: number | null }> {
  const args = [CHILD, path, String(start), ...(soleWriter ? ['sole'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  if (afterFirstStep) {
    await Promise.race([new Promise((resolve) => child.stdout.once('data', resolve)), exited]);
  }
  await sleep(delayMs);
  child.kill('SIGKILL');
  const signal = await exited;
  assert.equal(signal, 'SIGKILL', `the child ended on its own before the kill: ${err}`);
  // Only complete lines count: a step whose line was cut was not reported.
  const lines = out.split('\n').slice(0, -1);
  let syncedBytes: number | null = null;
  for (const [i, line] of lines.entries()) {
    const [step, bytes] = line.split(' ').map(Number);
    assert.equal(step, start + i, `child output out of order: ${line}`);
    syncedBytes = bytes ?? null;
  }
  return { reported: start + lines.length, syncedBytes };
}

/**
 * A power cut right after the kill: what no sync covered is gone. The WAL keeps only the bytes
 * the last reported sync covered (the frames of later commits were only in the page cache), and
 * the shared-memory index (never synced; rebuilt from the WAL by the next opener) is dropped.
 * This models the loss of unsynced appends; SQLite's checkpoints sync both files themselves.
 */
function dropUnsynced(path: string, syncedBytes: number | null): number {
  if (syncedBytes === null) return 0;
  const wal = `${path}-wal`;
  const size = statSync(wal).size;
  if (size > syncedBytes) truncateSync(wal, syncedBytes);
  rmSync(`${path}-shm`, { force: true });
  return Math.max(0, size - syncedBytes);
}

function integrityCheck(path: string): string {
  const db = new DatabaseSync(path);
  try {
    return (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

async function crashRounds(rounds: number, powerLoss: boolean): Promise<void> {
  const seed = Date.now() >>> 0;
  const random = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'openbits-crash-'));
  const path = join(dir, 'jobs.db');
  // The expected content: the same steps replayed on a memory store, never ahead of the disk.
  const model = new MemoryJobStore();
  let modelSteps = 0;
  const advanceModel = (to: number) => {
    for (; modelSteps < to; modelSteps++) runStep(model, modelSteps);
  };
  let committed = 0;
  let killedMidRun = 0;
  let dropped = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      // Every other round as bitsd opens the store: the database's only writer.
      const soleWriter = round % 2 === 1;
      const where = `round ${round}${soleWriter ? ' (sole writer)' : ''}, seed ${seed}`;
      const afterFirstStep = random() < 0.8;
      const delay = Math.floor(random() * (afterFirstStep ? 60 : 150));
      const { reported, syncedBytes } = await runAndKill(path, committed, delay, afterFirstStep, soleWriter);
      if (reported > committed) killedMidRun++;
      if (powerLoss) dropped += dropUnsynced(path, syncedBytes) > 0 ? 1 : 0;
      assert.equal(integrityCheck(path), 'ok', where);
      const store = openSqliteJobStore(path);
      try {
        // Every reported step is on disk; at most one more (committed, killed before printing).
        const ids = jobsUpTo(reported + 1);
        advanceModel(reported);
        const onDisk = snapshot(store, ids);
        if (!isDeepStrictEqual(onDisk, snapshot(model, ids))) advanceModel(reported + 1);
        assert.deepEqual(onDisk, snapshot(model, ids), `${where}: disk ≠ the first ${modelSteps} steps`);
        committed = modelSteps;
      } finally {
        store.close();
      }
    }
    assert.ok(committed > rounds, `only ${committed} steps were committed in ${rounds} rounds`);
    assert.ok(killedMidRun >= rounds / 2, `only ${killedMidRun} of ${rounds} kills landed mid-run`);
    if (powerLoss) console.log(`# power loss: unsynced WAL bytes dropped in ${dropped} of ${rounds} rounds`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A child process per round (a node start-up each, seconds on a loaded 2-core machine, where
// 50 rounds once ran past the suite's 180 s): a longer hang guard.
const GUARD = { timeout: 600_000 };

test(
  `SIGKILL at random moments, ${ROUNDS} times: every reported commit survives, the database stays sound`,
  GUARD,
  () => crashRounds(ROUNDS, false),
);

test(
  `power loss (SIGKILL, then the WAL cut to what the group commit synced), ${POWER_ROUNDS} times: every reported commit survives`,
  GUARD,
  () => crashRounds(POWER_ROUNDS, true),
);
