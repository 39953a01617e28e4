#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before anything loads.
require('./require-node.js');
const { moduleUrl } = require('./locate.js');

import(moduleUrl('upload-server/cli'))
  .then(({ main }) => main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
