/** Every scenario, in the order `npm run bench` runs them. */
import s1 from './s1-chain.js';
import { s2Scenario } from './s2-mapped.js';
import s3 from './s3-100k.js';
import s4 from './s4-parse.js';
import s5 from './s5-inline.js';
import s6 from './s6-ml.js';
import memory from './memory.js';
import { profileS2, profileS5 } from './profile.js';
import { ha123, pgS2 } from './ha.js';
import pgStatements from './pg-statements.js';

export const SCENARIOS = [
  { ...s1, peer: true },
  { ...s2Scenario({ id: 'S2-1K', n: 1000, parallelism: 8, peer: true }), peer: true },
  s2Scenario({ id: 'S2-1K-P4', n: 1000, parallelism: 4 }),
  s2Scenario({ id: 'S2-1K-CPU1', n: 1000, parallelism: 8, cpu: null }),
  s2Scenario({ id: 'S2-10K', n: 10_000, parallelism: 8 }),
  s3,
  s4,
  s5,
  s6,
  memory,
  profileS2,
  profileS5,
  pgS2,
  ha123,
  pgStatements,
];
