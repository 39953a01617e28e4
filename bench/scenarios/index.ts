import type { Scenario } from '../lib/context.ts';
import { s0 } from './s0-raw-ceiling.ts';
import { s1 } from './s1-tmpfs.ts';
import { s1d } from './s1d-digest.ts';
import { s2 } from './s2-disk-durable.ts';
import { s3 } from './s3-many-small.ts';
import { s4 } from './s4-concurrent.ts';
import { s5 } from './s5-kill-resume.ts';
import { s6 } from './s6-throttle.ts';
import { s7 } from './s7-upload.ts';
import { s8 } from './s8-api.ts';
import { s9 } from './s9-memory.ts';
import { s11 } from './s11-cli-transfer-big.ts';
import { s12 } from './s12-cli-transfer-many.ts';
import { s13 } from './s13-cli-fileset.ts';
import { s14 } from './s14-cli-list-info.ts';
import { s15 } from './s15-yield.ts';
import { s16, s16f } from './s16-mirrors.ts';

/** Every scenario of the suite, in order. */
export const SCENARIOS: readonly Scenario[] = [
  s0,
  s1,
  s1d,
  s2,
  s3,
  s4,
  s5,
  s6,
  s7,
  s8,
  s9,
  s11,
  s12,
  s13,
  s14,
  s15,
  s16,
  s16f,
];
