// Plain JavaScript on purpose: this must run (and explain itself) on any old Node.
const MIN_MAJOR = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < MIN_MAJOR) {
  process.stderr.write(
    `openbits needs Node.js ${MIN_MAJOR} or newer, but ${process.execPath} is Node.js ${process.version}` +
      ' (in a checkout, npm scripts and npx use the Node 24 in node_modules/.bin).\n',
  );
  process.exit(1);
}
