#!/usr/bin/env node
// The worker of one job owner under `bitsd --system` (src/service/worker/): root starts it and it
// becomes the owner — groups, gid, then uid, which cannot be undone — before it loads anything
// else, so every file it opens and every byte it reads from the network is the owner's business.
// With OPENBITS_WORKER_ROLE=metrics it is the metrics relay instead (src/daemon/metrics-relay.ts),
// run as nobody: the HTTP of `metrics.listen` is parsed there, not in root.
require('./require-node.js');
const { moduleUrl } = require('./locate.js');

const uid = Number(process.env.OPENBITS_WORKER_UID);
const gid = Number(process.env.OPENBITS_WORKER_GID);
const user = process.env.OPENBITS_WORKER_USER;
if (!Number.isInteger(uid) || !Number.isInteger(gid) || !user) {
  process.stderr.write('openbits-worker: started without OPENBITS_WORKER_UID/GID/USER; bitsd --system starts it\n');
  process.exit(64);
}
if (process.getuid() === 0) {
  process.initgroups(user, gid);
  process.setgid(gid);
  process.setuid(uid);
}
if (process.getuid() !== uid || process.geteuid() !== uid || process.getgid() !== gid || process.getegid() !== gid) {
  process.stderr.write(`openbits-worker: could not become uid ${uid} gid ${gid}\n`);
  process.exit(77);
}
require('./compile-cache.js');
if (process.env.OPENBITS_WORKER_ROLE === 'metrics') {
  import(moduleUrl('daemon/metrics-relay-main')).then(({ runMetricsRelay }) => runMetricsRelay());
} else {
  // It moves the owner's bytes: the same young-generation tuning as bitsd.
  require('./young-generation.js');
  import(moduleUrl('service/worker/worker-main')).then(({ runWorker }) => runWorker());
}
