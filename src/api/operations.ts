import { BitsError } from '../core/bits-error.ts';
import type { JobType } from '../core/index.ts';
import type { NewFileSpec } from './bits-manager.ts';
import { jsonListChunks } from './json-text.ts';
import { defineOperation as op } from './operation.ts';
import {
  allUsers,
  allUsersQuery,
  hresultParam,
  job,
  jobCommand,
  jobPath,
  param,
  withFiles,
} from './operation-kinds.ts';
import { PROPERTY_OPERATIONS } from './property-operations.ts';

/**
 * Every BitsManager call as a route of the v1 API. The server mounts this table; the client
 * speaks it. Values the manager judges (priority names, URLs, limits) pass through as given.
 */

export const OPERATIONS = {
  createJob: op({
    name: 'createJob',
    method: 'POST',
    path: '/v1/jobs',
    status: 201,
    body: 'CreateJobBody',
    reply: 'JobInfoReply',
    encode: (displayName: string, type?: JobType) => ({
      body: type === undefined ? { displayName } : { displayName, type },
    }),
    invoke: (m, r) => m.createJob(r.body.displayName, r.body.type as JobType | undefined),
    decode: (reply) => reply,
  }),
  enumJobs: op({
    name: 'enumJobs',
    method: 'GET',
    path: '/v1/jobs',
    body: undefined,
    reply: 'JobListReply',
    encode: allUsersQuery,
    invoke: async (m, r) => ({ jobs: await m.enumJobs({ allUsers: allUsers(r.query) }) }),
    // Jobs at rest come frozen, their bytes made once, by blocks (json-text.ts): a list sends them.
    replyChunks: (reply) => jsonListChunks('jobs', reply.jobs),
    decode: (reply) => reply.jobs,
  }),
  enumJobSummaries: op({
    name: 'enumJobSummaries',
    method: 'GET',
    path: '/v1/job-summaries',
    body: undefined,
    reply: 'JobSummaryListReply',
    encode: allUsersQuery,
    invoke: async (m, r) => ({ jobs: await m.enumJobSummaries({ allUsers: allUsers(r.query) }) }),
    replyChunks: (reply) => jsonListChunks('jobs', reply.jobs),
    decode: (reply) => reply.jobs,
  }),
  findJob: op({
    name: 'findJob',
    method: 'GET',
    path: '/v1/find',
    body: undefined,
    reply: 'JobInfoReply',
    encode: (nameOrId: string, options?: { files?: boolean }) => ({
      query: options?.files === false ? { job: nameOrId, files: 'false' } : { job: nameOrId },
    }),
    invoke: (m, r) => {
      if (r.query.job === undefined) throw new BitsError('E_INVALIDARG', 'query parameter job is required');
      return m.findJob(r.query.job, { files: withFiles(r.query.files) });
    },
    decode: (reply) => reply,
  }),
  getJob: op({
    name: 'getJob',
    method: 'GET',
    path: jobPath,
    body: undefined,
    reply: 'JobInfoReply',
    encode: (id: string, options?: { files?: boolean }) => ({
      params: job(id),
      query: options?.files === false ? { files: 'false' } : {},
    }),
    invoke: (m, r) => m.getJob(param(r.params, 'id'), { files: withFiles(r.query.files) }),
    decode: (reply) => reply,
  }),
  addFile: op({
    name: 'addFile',
    method: 'POST',
    path: `${jobPath}/files`,
    body: 'AddFileBody',
    reply: undefined,
    encode: (id: string, remoteName: string, localName: string) => ({
      params: job(id),
      body: { remoteName, localName },
    }),
    invoke: async (m, r) => {
      const { remoteName, localName, ranges } = r.body;
      if (ranges === undefined) await m.addFile(param(r.params, 'id'), remoteName, localName);
      else await m.addFileWithRanges(param(r.params, 'id'), remoteName, localName, ranges);
      return undefined;
    },
  }),
  addFileWithRanges: op({
    name: 'addFileWithRanges',
    method: 'POST',
    path: `${jobPath}/files`,
    body: 'AddFileBody',
    reply: undefined,
    encode: (id: string, remoteName: string, localName: string, ranges) => ({
      params: job(id),
      body: { remoteName, localName, ranges: ranges.map(({ offset, length }) => ({ offset, length })) },
    }),
    invoke: async (m, r) => {
      await m.addFileWithRanges(param(r.params, 'id'), r.body.remoteName, r.body.localName, r.body.ranges ?? []);
      return undefined;
    },
  }),
  addFileSet: op({
    name: 'addFileSet',
    method: 'POST',
    path: `${jobPath}/file-set`,
    body: 'AddFileSetBody',
    reply: undefined,
    encode: (id: string, files) => ({
      params: job(id),
      body: {
        files: files.map(({ remoteName, localName, mirrors, digests, pieces }) => ({
          remoteName,
          localName,
          ...(mirrors === undefined ? {} : { mirrors: [...mirrors] }),
          ...(digests === undefined ? {} : { digests: digests.map((d) => ({ ...d })) }),
          ...(pieces === undefined
            ? {}
            : { pieces: pieces === null ? null : { ...pieces, hashes: [...pieces.hashes] } }),
        })),
      },
    }),
    invoke: async (m, r) => {
      // The store judges every value (algorithms included): the body's strings go as they came.
      await m.addFileSet(param(r.params, 'id'), r.body.files as readonly NewFileSpec[]);
      return undefined;
    },
  }),
  enumFiles: op({
    name: 'enumFiles',
    method: 'GET',
    path: `${jobPath}/files`,
    body: undefined,
    reply: 'FileListReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ files: await m.enumFiles(param(r.params, 'id')) }),
    decode: (reply) => reply.files,
  }),
  resume: jobCommand({
    name: 'resume',
    method: 'POST',
    path: 'resume',
    body: undefined,
    pack: () => undefined,
    call: (m, id) => m.resume(id),
  }),
  suspend: jobCommand({
    name: 'suspend',
    method: 'POST',
    path: 'suspend',
    body: undefined,
    pack: () => undefined,
    call: (m, id) => m.suspend(id),
  }),
  cancel: op({
    name: 'cancel',
    method: 'POST',
    path: `${jobPath}/cancel`,
    body: undefined,
    reply: 'ResultReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ result: await m.cancel(param(r.params, 'id')) }),
    decode: (reply) => reply.result,
  }),
  complete: op({
    name: 'complete',
    method: 'POST',
    path: `${jobPath}/complete`,
    body: undefined,
    reply: 'ResultReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ result: await m.complete(param(r.params, 'id')) }),
    decode: (reply) => reply.result,
  }),
  getState: op({
    name: 'getState',
    method: 'GET',
    path: `${jobPath}/state`,
    body: undefined,
    reply: 'JobStateReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ state: await m.getState(param(r.params, 'id')) }),
    decode: (reply) => reply.state,
  }),
  getProgress: op({
    name: 'getProgress',
    method: 'GET',
    path: `${jobPath}/progress`,
    body: undefined,
    reply: 'JobProgressReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: (m, r) => m.getProgress(param(r.params, 'id')),
    decode: (reply) => reply,
  }),
  getTimes: op({
    name: 'getTimes',
    method: 'GET',
    path: `${jobPath}/times`,
    body: undefined,
    reply: 'JobTimesReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: (m, r) => m.getTimes(param(r.params, 'id')),
    decode: (reply) => reply,
  }),
  getError: op({
    name: 'getError',
    method: 'GET',
    path: `${jobPath}/error`,
    body: undefined,
    reply: 'JobErrorInfoReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: (m, r) => m.getError(param(r.params, 'id')),
    decode: (reply) => reply,
  }),
  ...PROPERTY_OPERATIONS,
  getErrorDescription: op({
    name: 'getErrorDescription',
    method: 'GET',
    path: '/v1/error-descriptions/:hresult',
    body: undefined,
    reply: 'DescriptionReply',
    encode: (hresult: number) => ({ params: { hresult: `0x${(hresult >>> 0).toString(16)}` } }),
    invoke: async (m, r) => ({ description: await m.getErrorDescription(hresultParam(r.params)) }),
    decode: (reply) => reply.description,
  }),
  getPolicy: op({
    name: 'getPolicy',
    method: 'GET',
    path: '/v1/policy',
    body: undefined,
    reply: 'PolicyReply',
    encode: () => ({}),
    invoke: async (m) => ({ policy: await m.getPolicy() }),
    decode: (reply) => reply.policy,
  }),
  setPolicy: op({
    name: 'setPolicy',
    method: 'PUT',
    path: '/v1/policy',
    body: 'SetPolicyBody',
    reply: 'PolicyReply',
    encode: (key: string, value: unknown) => ({ body: { key, value } }),
    invoke: async (m, r) => ({ policy: await m.setPolicy(r.body.key, r.body.value) }),
    decode: (reply) => reply.policy,
  }),
  reloadPolicy: op({
    name: 'reloadPolicy',
    method: 'POST',
    path: '/v1/policy/reload',
    body: undefined,
    reply: 'PolicyReply',
    encode: () => ({}),
    invoke: async (m) => ({ policy: await m.reloadPolicy() }),
    decode: (reply) => reply.policy,
  }),
} as const;

export type Operations = typeof OPERATIONS;
