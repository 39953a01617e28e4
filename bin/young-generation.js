// A young generation that stays small in bitsd (V8 grows it to 16 MiB semi-spaces and more). A
// transfer allocates little JavaScript per chunk but a new Buffer for each socket read, and
// those are freed only when a GC finds them dead: with a large young generation that is when
// tens of MiB of them have piled up (V8's external-memory pressure). Scavenging every MiB or so
// frees them as they die and keeps the young generation in cache. Only the growth factor can
// still be changed once V8 runs (a new --max-semi-space-size is ignored), so the semi-spaces
// keep their initial size. OPENBITS_YOUNG_GENERATION=default leaves V8's sizing (to compare).
// The data path allocates so little JavaScript per chunk that even a small young generation
// fills only every tens of MiB: --expose-gc (it reaches new contexts only, no global changes
// here) lets src/transfer/buffer-reclaim.ts run a minor GC every 4 MiB written instead.
const v8 = require('node:v8');

if (process.env.OPENBITS_YOUNG_GENERATION !== 'default') {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--expose-gc');
}
