import { BitsError } from '../core/bits-error.ts';
import type { AuthScheme, AuthTarget, JobPriority, JobType, ProxySettings } from '../core/index.ts';
import { defineOperation as op } from './operation.ts';
import {
  action,
  booleanSetter,
  hresultParam,
  job,
  jobPath,
  numberSetter,
  param,
  resultAction,
  setter,
  wholeNumber,
} from './operation-kinds.ts';

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
    encode: (options?: { allUsers?: boolean }) => ({ query: options?.allUsers === true ? { allUsers: 'true' } : {} }),
    invoke: async (m, r) => {
      const raw = r.query.allUsers;
      if (raw !== undefined && raw !== 'true' && raw !== 'false') {
        throw new BitsError('E_INVALIDARG', 'query parameter allUsers must be true or false');
      }
      return { jobs: await m.enumJobs({ allUsers: raw === 'true' }) };
    },
    decode: (reply) => reply.jobs,
  }),
  findJob: op({
    name: 'findJob',
    method: 'GET',
    path: '/v1/find',
    body: undefined,
    reply: 'JobInfoReply',
    encode: (nameOrId: string) => ({ query: { job: nameOrId } }),
    invoke: (m, r) => {
      if (r.query.job === undefined) throw new BitsError('E_INVALIDARG', 'query parameter job is required');
      return m.findJob(r.query.job);
    },
    decode: (reply) => reply,
  }),
  getJob: op({
    name: 'getJob',
    method: 'GET',
    path: jobPath,
    body: undefined,
    reply: 'JobInfoReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: (m, r) => m.getJob(param(r.params, 'id')),
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
    decode: () => undefined,
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
    decode: () => undefined,
  }),
  addFileSet: op({
    name: 'addFileSet',
    method: 'POST',
    path: `${jobPath}/file-set`,
    body: 'AddFileSetBody',
    reply: undefined,
    encode: (id: string, files) => ({
      params: job(id),
      body: { files: files.map(({ remoteName, localName }) => ({ remoteName, localName })) },
    }),
    invoke: async (m, r) => {
      await m.addFileSet(param(r.params, 'id'), r.body.files);
      return undefined;
    },
    decode: () => undefined,
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
  resume: action('resume', 'resume'),
  suspend: action('suspend', 'suspend'),
  cancel: resultAction('cancel'),
  complete: resultAction('complete'),
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
  setDisplayName: setter('setDisplayName', 'display-name'),
  setDescription: setter('setDescription', 'description'),
  setPriority: op({
    name: 'setPriority',
    method: 'PUT',
    path: `${jobPath}/priority`,
    body: 'StringValue',
    reply: undefined,
    encode: (id: string, value: JobPriority) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m.setPriority(param(r.params, 'id'), r.body.value as JobPriority);
      return undefined;
    },
    decode: () => undefined,
  }),
  setNotifyFlags: numberSetter('setNotifyFlags', 'notify-flags'),
  setNotifyCmdLine: op({
    name: 'setNotifyCmdLine',
    method: 'PUT',
    path: `${jobPath}/notify-cmd-line`,
    body: 'NotifyCmdLineBody',
    reply: undefined,
    encode: (id: string, program: string | null, parameters: string | null) => ({
      params: job(id),
      body: { program, parameters },
    }),
    invoke: async (m, r) => {
      await m.setNotifyCmdLine(param(r.params, 'id'), r.body.program, r.body.parameters);
      return undefined;
    },
    decode: () => undefined,
  }),
  setMinimumRetryDelay: numberSetter('setMinimumRetryDelay', 'minimum-retry-delay'),
  setNoProgressTimeout: numberSetter('setNoProgressTimeout', 'no-progress-timeout'),
  setMaximumDownloadTime: numberSetter('setMaximumDownloadTime', 'maximum-download-time'),
  setProxySettings: op({
    name: 'setProxySettings',
    method: 'PUT',
    path: `${jobPath}/proxy`,
    body: 'ProxyBody',
    reply: undefined,
    encode: (id: string, s: ProxySettings) => ({
      params: job(id),
      body: { usage: s.usage, proxyList: s.proxyList ?? null, bypassList: s.bypassList ?? null },
    }),
    invoke: async (m, r) => {
      await m.setProxySettings(param(r.params, 'id'), r.body as ProxySettings);
      return undefined;
    },
    decode: () => undefined,
  }),
  setCustomHeaders: op({
    name: 'setCustomHeaders',
    method: 'PUT',
    path: `${jobPath}/custom-headers`,
    body: 'CustomHeadersBody',
    reply: undefined,
    encode: (id: string, headers: readonly string[] | null) => ({
      params: job(id),
      body: { headers: headers === null ? null : [...headers] },
    }),
    invoke: async (m, r) => {
      await m.setCustomHeaders(param(r.params, 'id'), r.body.headers);
      return undefined;
    },
    decode: () => undefined,
  }),
  getCustomHeaders: op({
    name: 'getCustomHeaders',
    method: 'GET',
    path: `${jobPath}/custom-headers`,
    body: undefined,
    reply: 'CustomHeadersReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ headers: await m.getCustomHeaders(param(r.params, 'id')) }),
    decode: (reply) => reply.headers,
  }),
  makeCustomHeadersWriteOnly: action('makeCustomHeadersWriteOnly', 'custom-headers/write-only'),
  setCredentials: op({
    name: 'setCredentials',
    method: 'PUT',
    path: `${jobPath}/credentials`,
    body: 'CredentialsBody',
    reply: undefined,
    encode: (id: string, c) => ({
      params: job(id),
      body: { target: c.target, scheme: c.scheme, userName: c.userName ?? null, password: c.password ?? null },
    }),
    invoke: async (m, r) => {
      await m.setCredentials(param(r.params, 'id'), {
        ...r.body,
        target: r.body.target as AuthTarget,
        scheme: r.body.scheme as AuthScheme,
      });
      return undefined;
    },
    decode: () => undefined,
  }),
  removeCredentials: op({
    name: 'removeCredentials',
    method: 'DELETE',
    path: `${jobPath}/credentials/:target/:scheme`,
    body: undefined,
    reply: 'ResultReply',
    encode: (id: string, target: AuthTarget, scheme: AuthScheme) => ({ params: { id, target, scheme } }),
    invoke: async (m, r) => ({
      result: await m.removeCredentials(
        param(r.params, 'id'),
        param(r.params, 'target') as AuthTarget,
        param(r.params, 'scheme') as AuthScheme,
      ),
    }),
    decode: (reply) => reply.result,
  }),
  setSecurityFlags: numberSetter('setSecurityFlags', 'security-flags'),
  replaceRemotePrefix: op({
    name: 'replaceRemotePrefix',
    method: 'POST',
    path: `${jobPath}/replace-remote-prefix`,
    body: 'ReplacePrefixBody',
    reply: 'ResultReply',
    encode: (id: string, oldPrefix: string, newPrefix: string) => ({ params: job(id), body: { oldPrefix, newPrefix } }),
    invoke: async (m, r) => ({
      result: await m.replaceRemotePrefix(param(r.params, 'id'), r.body.oldPrefix, r.body.newPrefix),
    }),
    decode: (reply) => reply.result,
  }),
  setRemoteName: op({
    name: 'setRemoteName',
    method: 'PUT',
    path: `${jobPath}/files/:index/remote-name`,
    body: 'StringValue',
    reply: undefined,
    encode: (id: string, fileIndex: number, value: string) => ({
      params: { id, index: String(fileIndex) },
      body: { value },
    }),
    invoke: async (m, r) => {
      await m.setRemoteName(param(r.params, 'id'), wholeNumber(r.params, 'index'), r.body.value);
      return undefined;
    },
    decode: () => undefined,
  }),
  setDynamicContent: booleanSetter('setDynamicContent', 'dynamic-content'),
  setHighPerformance: booleanSetter('setHighPerformance', 'high-performance'),
  setMaxDownloadSize: op({
    name: 'setMaxDownloadSize',
    method: 'PUT',
    path: `${jobPath}/max-download-size`,
    body: 'NullableNumberValue',
    reply: undefined,
    encode: (id: string, value: number | null) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m.setMaxDownloadSize(param(r.params, 'id'), r.body.value);
      return undefined;
    },
    decode: () => undefined,
  }),
  setMaxBandwidth: numberSetter('setMaxBandwidth', 'max-bandwidth'),
  setFileMode: op({
    name: 'setFileMode',
    method: 'PUT',
    path: `${jobPath}/file-mode`,
    body: 'NullableNumberValue',
    reply: undefined,
    encode: (id: string, value: number | null) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m.setFileMode(param(r.params, 'id'), r.body.value);
      return undefined;
    },
    decode: () => undefined,
  }),
  setReplyFileName: op({
    name: 'setReplyFileName',
    method: 'PUT',
    path: `${jobPath}/reply-file-name`,
    body: 'NullableStringValue',
    reply: undefined,
    encode: (id: string, value: string | null) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m.setReplyFileName(param(r.params, 'id'), r.body.value);
      return undefined;
    },
    decode: () => undefined,
  }),
  getReplyFileName: op({
    name: 'getReplyFileName',
    method: 'GET',
    path: `${jobPath}/reply-file-name`,
    body: undefined,
    reply: 'NullableStringReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ value: await m.getReplyFileName(param(r.params, 'id')) }),
    decode: (reply) => reply.value,
  }),
  getReplyProgress: op({
    name: 'getReplyProgress',
    method: 'GET',
    path: `${jobPath}/reply-progress`,
    body: undefined,
    reply: 'ReplyProgressReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: (m, r) => m.getReplyProgress(param(r.params, 'id')),
    decode: (reply) => reply,
  }),
  getReplyData: op({
    name: 'getReplyData',
    method: 'GET',
    path: `${jobPath}/reply-data`,
    body: undefined,
    reply: 'ReplyDataReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => {
      const data = await m.getReplyData(param(r.params, 'id'));
      return { data: data === null ? null : data.toString('base64') };
    },
    decode: (reply) => (reply.data === null ? null : Buffer.from(reply.data, 'base64')),
  }),
  takeOwnership: action('takeOwnership', 'take-ownership'),
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
