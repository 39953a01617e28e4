import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseQuery } from '../../src/api/call-handler.ts';
import { OPERATIONS } from '../../src/api/operations.ts';
import { RouteTable } from '../../src/api/route-table.ts';

describe('the socket server’s own router (route-table.ts, call-handler.ts)', () => {
  const routes = new RouteTable();
  const id = '6e0faea9-0000-4000-8000-000000000001';

  test('finds every operation by its method and path, with the path parameters', () => {
    assert.equal(routes.match('GET', '/v1/jobs')?.op, OPERATIONS.enumJobs);
    assert.equal(routes.match('GET', '/v1/job-summaries')?.op, OPERATIONS.enumJobSummaries);
    assert.equal(routes.match('POST', '/v1/jobs')?.op, OPERATIONS.createJob);
    assert.deepEqual(routes.match('GET', `/v1/jobs/${id}`), { op: OPERATIONS.getJob, params: { id } });
    // addFile and addFileWithRanges share the route; the first one mounted takes it, as in Hono.
    assert.equal(routes.match('POST', `/v1/jobs/${id}/files`)?.op, OPERATIONS.addFile);
  });

  test('leaves to the Hono app what it would not route: trailing slash, empty parameter, other methods', () => {
    assert.equal(routes.match('GET', '/v1/jobs/'), undefined);
    assert.equal(routes.match('GET', '/v1/jobs//files'), undefined);
    assert.equal(routes.match('HEAD', '/v1/jobs'), undefined);
    assert.equal(routes.match('GET', '/v1/events'), undefined);
    assert.equal(routes.match('GET', '/v2/jobs'), undefined);
  });

  test('reads a query string as Hono does: first value wins, + is a space, escapes decoded', () => {
    assert.deepEqual(
      { ...parseQuery('job=a+b%21&job=other&files=false&flag') },
      { job: 'a b!', files: 'false', flag: '' },
    );
    assert.deepEqual({ ...parseQuery('bad=%E0%A4%A&constructor=x') }, { bad: '%E0%A4%A', constructor: 'x' });
  });
});
