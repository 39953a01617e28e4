import type { AuthScheme, AuthTarget, FileDigest, JobPriority, PieceDigests, ProxySettings } from '../core/index.ts';
import { defineOperation as op } from './operation.ts';
import { job, jobCommand, jobPath, param, wholeNumber } from './operation-kinds.ts';

/**
 * The routes of the job properties: `PUT /v1/jobs/:id/<property>` sets one (most with `{ value }`),
 * `GET` reads it back where BITS has a getter. Part of OPERATIONS (operations.ts).
 */
export const PROPERTY_OPERATIONS = {
  setDisplayName: jobCommand({
    name: 'setDisplayName',
    method: 'PUT',
    path: 'display-name',
    body: 'StringValue',
    pack: (_id, value: string) => ({ value }),
    call: (m, id, body) => m.setDisplayName(id, body.value),
  }),
  setDescription: jobCommand({
    name: 'setDescription',
    method: 'PUT',
    path: 'description',
    body: 'StringValue',
    pack: (_id, value: string) => ({ value }),
    call: (m, id, body) => m.setDescription(id, body.value),
  }),
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
  }),
  setNotifyFlags: jobCommand({
    name: 'setNotifyFlags',
    method: 'PUT',
    path: 'notify-flags',
    body: 'NotifyFlagsValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setNotifyFlags(id, body.value),
  }),
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
  }),
  setWebhooks: jobCommand({
    name: 'setWebhooks',
    method: 'PUT',
    path: 'webhooks',
    body: 'WebhooksBody',
    pack: (_id, hooks: ReadonlyArray<{ url: string; secret: string }> | null) => ({
      hooks: hooks === null ? null : hooks.map(({ url, secret }) => ({ url, secret })),
    }),
    call: (m, id, body) => m.setWebhooks(id, body.hooks),
  }),
  setMinimumRetryDelay: jobCommand({
    name: 'setMinimumRetryDelay',
    method: 'PUT',
    path: 'minimum-retry-delay',
    body: 'SecondsValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setMinimumRetryDelay(id, body.value),
  }),
  setNoProgressTimeout: jobCommand({
    name: 'setNoProgressTimeout',
    method: 'PUT',
    path: 'no-progress-timeout',
    body: 'SecondsValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setNoProgressTimeout(id, body.value),
  }),
  setMaximumDownloadTime: jobCommand({
    name: 'setMaximumDownloadTime',
    method: 'PUT',
    path: 'maximum-download-time',
    body: 'SecondsValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setMaximumDownloadTime(id, body.value),
  }),
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
  makeCustomHeadersWriteOnly: jobCommand({
    name: 'makeCustomHeadersWriteOnly',
    method: 'POST',
    path: 'custom-headers/write-only',
    body: undefined,
    pack: () => undefined,
    call: (m, id) => m.makeCustomHeadersWriteOnly(id),
  }),
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
  setSecurityFlags: jobCommand({
    name: 'setSecurityFlags',
    method: 'PUT',
    path: 'security-flags',
    body: 'SecurityFlagsValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setSecurityFlags(id, body.value),
  }),
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
  }),
  setFileMirrors: op({
    name: 'setFileMirrors',
    method: 'PUT',
    path: `${jobPath}/files/:index/mirrors`,
    body: 'MirrorsBody',
    reply: undefined,
    encode: (id: string, fileIndex: number, urls: readonly string[]) => ({
      params: { id, index: String(fileIndex) },
      body: { urls: [...urls] },
    }),
    invoke: async (m, r) => {
      await m.setFileMirrors(param(r.params, 'id'), wholeNumber(r.params, 'index'), r.body.urls);
      return undefined;
    },
  }),
  setFileDigests: op({
    name: 'setFileDigests',
    method: 'PUT',
    path: `${jobPath}/files/:index/digests`,
    body: 'DigestsBody',
    reply: undefined,
    encode: (id: string, fileIndex: number, digests: readonly FileDigest[], pieces?: PieceDigests | null) => ({
      params: { id, index: String(fileIndex) },
      body: {
        digests: digests.map((d) => ({ ...d })),
        ...(pieces === undefined ? {} : { pieces: pieces === null ? null : { ...pieces, hashes: [...pieces.hashes] } }),
      },
    }),
    invoke: async (m, r) => {
      const { digests, pieces } = r.body;
      await m.setFileDigests(
        param(r.params, 'id'),
        wholeNumber(r.params, 'index'),
        digests as FileDigest[],
        pieces as PieceDigests | null | undefined,
      );
      return undefined;
    },
  }),
  setDynamicContent: jobCommand({
    name: 'setDynamicContent',
    method: 'PUT',
    path: 'dynamic-content',
    body: 'BooleanValue',
    pack: (_id, value: boolean) => ({ value }),
    call: (m, id, body) => m.setDynamicContent(id, body.value),
  }),
  setHighPerformance: jobCommand({
    name: 'setHighPerformance',
    method: 'PUT',
    path: 'high-performance',
    body: 'BooleanValue',
    pack: (_id, value: boolean) => ({ value }),
    call: (m, id, body) => m.setHighPerformance(id, body.value),
  }),
  setMaxDownloadSize: op({
    name: 'setMaxDownloadSize',
    method: 'PUT',
    path: `${jobPath}/max-download-size`,
    body: 'MaxDownloadSizeValue',
    reply: undefined,
    encode: (id: string, value: number | null) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m.setMaxDownloadSize(param(r.params, 'id'), r.body.value);
      return undefined;
    },
  }),
  setMaxBandwidth: jobCommand({
    name: 'setMaxBandwidth',
    method: 'PUT',
    path: 'max-bandwidth',
    body: 'BandwidthValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setMaxBandwidth(id, body.value),
  }),
  setFileMode: jobCommand({
    name: 'setFileMode',
    method: 'PUT',
    path: 'file-mode',
    body: 'FileModeValue',
    pack: (_id, value: number | null) => ({ value }),
    call: (m, id, body) => m.setFileMode(id, body.value),
  }),
  setMaxConnections: jobCommand({
    name: 'setMaxConnections',
    method: 'PUT',
    path: 'max-connections',
    body: 'MaxConnectionsValue',
    pack: (_id, value: number) => ({ value }),
    call: (m, id, body) => m.setMaxConnections(id, body.value),
  }),
  setCostFlags: jobCommand({
    name: 'setCostFlags',
    method: 'PUT',
    path: 'cost-flags',
    body: 'CostFlagsValue',
    pack: (_id, value: number | null) => ({ value }),
    call: (m, id, body) => m.setCostFlags(id, body.value),
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
  takeOwnership: jobCommand({
    name: 'takeOwnership',
    method: 'POST',
    path: 'take-ownership',
    body: undefined,
    pack: () => undefined,
    call: (m, id) => m.takeOwnership(id),
  }),
} as const;
