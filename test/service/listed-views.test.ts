import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobInfo } from '../../src/api/bits-manager.ts';
import { jsonBytes, jsonListChunks } from '../../src/api/json-text.ts';
import type { Job } from '../../src/core/index.ts';
import { BLOCKS_EVERY_MS, ListedViews, WARM_DELAY_MS } from '../../src/service/listed-views.ts';
import { TestClock } from '../helpers/test-clock.ts';

/** A record stand-in: ListedViews only keys views by record identity and asks the parts. */
const record = (id: string, state = 'QUEUED'): Job => Object.freeze({ id, state }) as unknown as Job;

function setup(queue: Job[], live = new Set<string>()) {
  const clock = new TestClock();
  const built: string[] = [];
  const views = new ListedViews({
    clock,
    queue: () => queue,
    atRest: (job) => !live.has(job.id),
    busy: (id) => live.has(id),
    build: (job) => {
      built.push(job.id);
      return { id: job.id, state: job.state, files: [] } as unknown as JobInfo;
    },
  });
  return { clock, built, views };
}

/** Wait (by turns of the event loop, no timer) until the chunked pass has finished. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

test('a listed job at rest gets one frozen view per record; a live one is made each time', () => {
  const a = record('a');
  const b = record('b');
  const { views, built } = setup([a, b], new Set(['b']));
  const first = views.view(a);
  assert.equal(views.view(a), first);
  assert.ok(Object.isFrozen(first));
  assert.notEqual(views.view(b), views.view(b));
  assert.deepEqual(built, ['a', 'b', 'b']);
  const a2 = record('a', 'SUSPENDED');
  assert.notEqual(views.view(a2), first, 'a new record of the job gets a new view');
});

test('changed jobs get their views and text made in the background, after the delay, once', async () => {
  const jobs = Array.from({ length: 300 }, (_, i) => record(`job-${i}`));
  const { clock, views, built } = setup(jobs);
  for (const job of jobs) views.touched(job.id);
  views.touched('gone'); // left the queue meanwhile: nothing to make
  assert.equal(built.length, 0, 'nothing is made on the caller’s path');
  clock.advance(WARM_DELAY_MS - 1);
  assert.equal(built.length, 0);
  clock.advance(1);
  await until(() => built.length === jobs.length);
  assert.deepEqual(
    built,
    jobs.map((j) => j.id),
  );
  // The list now builds nothing, and takes the text made beside each view.
  const listed = jobs.map((job) => views.view(job));
  assert.equal(built.length, jobs.length);
  const text = Buffer.concat(jsonListChunks('jobs', listed)).toString();
  assert.equal(text, JSON.stringify({ jobs: listed }));
  assert.equal(jsonBytes(listed[0] as object), jsonBytes(views.view(jobs[0] as Job)));
});

test('the list blocks are made at most once a second while jobs keep changing, and after the last change', async () => {
  const jobs = [record('a'), record('b')];
  const clock = new TestClock();
  let queueReads = 0;
  const views = new ListedViews({
    clock,
    queue: () => {
      queueReads++;
      return jobs;
    },
    atRest: () => true,
    busy: () => false,
    build: (job) => ({ id: job.id }) as unknown as JobInfo,
  });
  views.touched('a');
  clock.advance(WARM_DELAY_MS); // the warm pass reads the queue once; the blocks are due at once
  await until(() => queueReads >= 1);
  clock.advance(0);
  assert.equal(queueReads, 2, 'the warm pass, then the blocks');
  views.touched('b');
  clock.advance(WARM_DELAY_MS);
  await until(() => queueReads >= 3);
  clock.advance(BLOCKS_EVERY_MS / 2);
  assert.equal(queueReads, 3, 'blocks wait for the second to pass');
  clock.advance(BLOCKS_EVERY_MS);
  assert.equal(queueReads, 4);
  views.close();
  views.touched('a');
  assert.equal(clock.pending, 0, 'closed: nothing is armed');
});

test('list chunks are the bytes of JSON.stringify, kept blocks included, with changed and live items', () => {
  const items = Array.from({ length: 200 }, (_, i) => Object.freeze({ id: `j${i}`, n: i, name: `é${i}` }));
  const once = Buffer.concat(jsonListChunks('jobs', items)).toString();
  assert.equal(once, JSON.stringify({ jobs: items }));
  const changed: object[] = [...items];
  changed[70] = Object.freeze({ id: 'j70', n: -1, name: 'changed' });
  changed.splice(3, 1);
  changed.push({ id: 'live', n: 0, name: 'not frozen' } as never);
  assert.equal(Buffer.concat(jsonListChunks('jobs', changed)).toString(), JSON.stringify({ jobs: changed }));
  assert.equal(Buffer.concat(jsonListChunks('jobs', [])).toString(), '{"jobs":[]}');
});

test('a list of the same records at rest is the last list again; a changed or live record is made anew', () => {
  const jobs = [record('a'), record('b'), record('c')];
  const live = new Set<string>();
  const { views, built } = setup(jobs, live);
  const first = views.summaries(jobs);
  assert.deepEqual(
    first.map((s) => s.id),
    ['a', 'b', 'c'],
  );
  const made = built.length;
  const again = views.summaries([...jobs]);
  assert.notEqual(again, first, 'a copy: a caller may change its array');
  assert.deepEqual(again, first);
  for (const [i, item] of again.entries()) assert.equal(item, first[i]);
  assert.equal(built.length, made, 'nothing made again');
  // A new record of b: b's summary is made from it, the others are the kept ones.
  const b2 = record('b', 'SUSPENDED');
  const changed = views.summaries([jobs[0] as Job, b2, jobs[2] as Job]);
  assert.equal(changed[0], first[0]);
  assert.equal(changed[1]?.state, 'SUSPENDED');
  // The same records, but c now runs (its live progress is not in its record): made each time.
  live.add('c');
  const running = views.summaries([jobs[0] as Job, b2, jobs[2] as Job]);
  const runningAgain = views.summaries([jobs[0] as Job, b2, jobs[2] as Job]);
  assert.notEqual(running[2], runningAgain[2]);
  assert.equal(Object.isFrozen(running[2]), false);
  // Views follow the same rule, apart from summaries.
  const listed = views.views(jobs.slice(0, 2));
  assert.equal(views.views(jobs.slice(0, 2))[1], listed[1]);
  views.close();
});

test('a list of the same frozen items is sent from the same chunks; any other list is made anew', () => {
  const items = Array.from({ length: 200 }, (_, i) => Object.freeze({ id: `job-${i}` }));
  const chunks = jsonListChunks('jobs', items);
  assert.equal(jsonListChunks('jobs', [...items]), chunks, 'the same items: the kept chunks');
  assert.notEqual(jsonListChunks('summaries', items), chunks, 'another name');
  const fewer = items.slice(0, 199);
  assert.equal(Buffer.concat(jsonListChunks('jobs', fewer)).toString(), JSON.stringify({ jobs: fewer }));
  const other = [...items.slice(0, 100), Object.freeze({ id: 'new' }), ...items.slice(101)];
  assert.equal(Buffer.concat(jsonListChunks('jobs', other)).toString(), JSON.stringify({ jobs: other }));
  const live = [...items.slice(0, 199), { id: 'live' }];
  const once = jsonListChunks('jobs', live);
  (live[199] as { id: string }).id = 'moved';
  assert.notEqual(jsonListChunks('jobs', live), once, 'a list with a live item is not kept');
  assert.equal(Buffer.concat(jsonListChunks('jobs', live)).toString(), JSON.stringify({ jobs: live }));
});

test('a running job is left out of the warm pass: no queue read, no view, until it stops and changes', async () => {
  const a = record('a');
  const b = record('b');
  const running = new Set(['a']);
  const clock = new TestClock();
  let queueReads = 0;
  const built: string[] = [];
  const views = new ListedViews({
    clock,
    queue: () => {
      queueReads++;
      return [a, b];
    },
    atRest: (job) => !running.has(job.id),
    busy: (id) => running.has(id),
    build: (job) => {
      built.push(job.id);
      return { id: job.id } as unknown as JobInfo;
    },
  });
  // A job of many small files marks itself at each file.
  for (let i = 0; i < 10; i++) {
    views.touched('a');
    clock.advance(WARM_DELAY_MS);
  }
  assert.equal(queueReads, 0, 'no pass read the queue for the running job');
  assert.equal(built.length, 0, 'no view made');
  // Beside a job at rest that changed: that one is warmed (the list's blocks then made, which
  // list the running job too, made anew as a list would).
  views.touched('a');
  views.touched('b');
  clock.advance(WARM_DELAY_MS);
  await until(() => built.includes('b'));
  assert.equal(built[0], 'b', 'the pass made b first, not a');
  assert.ok(queueReads >= 1);
  // It stopped: its state event marks it, and the pass makes its view, kept from then on.
  running.delete('a');
  const madeBefore = built.length;
  views.touched('a');
  clock.advance(WARM_DELAY_MS);
  await until(() => built.length > madeBefore);
  assert.equal(built.at(-1), 'a');
  const made = built.length;
  views.view(a);
  assert.equal(built.length, made, 'the view made by the pass is kept');
  views.close();
});
