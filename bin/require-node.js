// Plain JavaScript on purpose: this must run (and explain itself) on any old Node.
const MIN_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_MAJOR) {
  process.stderr.write(
    `openbits needs Node.js ${MIN_MAJOR} or newer; this is ${process.version} (${process.execPath}).\n` +
      'Run it through npm (npm start, npm test, npx bitsadmin …), which uses the Node 24 pinned in\n' +
      'node_modules/.bin, or put a Node 24 first on PATH.\n',
  );
  process.exit(1);
}
