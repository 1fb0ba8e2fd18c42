/**
 * PIT RL: the query layout, the curriculum as configuration (round 0 only, round 1 only, both),
 * where references come from in each round, the pit/ metrics, and the gap reward rising.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SPECIAL_IDS } from '../../src/data';
import { Gpt, sample } from '../../src/models';
import { Rng, runtime } from '../../src/runtime';
import {
  gapStats,
  type MetricsRow,
  type PitExample,
  pitPromptSource,
  pitQuery,
  readMetrics,
  referenceQuery,
  resolvePitRlConfig,
  splitPitQuery,
  stripEos,
  trainPitRl,
  ValueModel,
} from '../../src/train';

const { eos: EOS, sepRef: SEP_REF } = SPECIAL_IDS;
const TINY = { vocabSize: 12, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 16 };
const TARGET = 7;
const Y_L = [11, 11];
const DATA: PitExample[] = [
  { prompt: [1, 6], rejected: Y_L },
  { prompt: [1, 8], rejected: [...Y_L, EOS] },
  { prompt: [1, 9], rejected: Y_L },
];

/** Gap = [y starts with TARGET] − [y_ref starts with TARGET]; records every reference seen. */
function recordingGap(refsSeen: number[][]) {
  return (_x: number[][], ys: number[][], refs: number[][]) => {
    refsSeen.push(...refs);
    return Float32Array.from(
      ys,
      (y, i) => Number(y[0] === TARGET) - Number(refs[i]![0] === TARGET),
    );
  };
}

function models(label: string) {
  return {
    policy: new Gpt(TINY, undefined, `${label}.pit`),
    ref: new Gpt(TINY, undefined, `${label}.pit`),
    critic: new ValueModel(new Gpt(TINY, undefined, `${label}.critic`)),
    sampler: new Gpt(TINY, undefined, `${label}.mp_rl`),
  };
}

const PPO = {
  batchSize: 16,
  nMinibatches: 2,
  responseLength: 1,
  temperature: 1,
  klCoef: 0.1,
  missingEosPenalty: 0,
  lr: 3e-3,
  sampleInterval: 0,
};

test.before(async () => {
  await runtime.ready();
  runtime.seed(5);
});

test('layout: [x SEP_REF y_ref] with the reference cut at EOS, and back', () => {
  assert.equal(pitQuery([1, 6], [9, 10, EOS, 3]), [1, 6, SEP_REF, 9, 10, SPECIAL_IDS.sep]);
  assert.equal(splitPitQuery([1, 6, SEP_REF, 9, 10, SPECIAL_IDS.sep]), {
    prompt: [1, 6],
    reference: [9, 10],
  });
  assert.equal(stripEos([4, 5]), [4, 5]);
  assert.throws(() => splitPitQuery([1, 6]), /no SEP_REF/);
  assert.equal(gapStats([0.5, -1, 2, 0]), { mean: 0.375, positiveFrac: 0.5 });
});

test('config: rounds are checked by index; totalUpdates belongs to the rounds', () => {
  assert.is(resolvePitRlConfig().rounds.length, 2);
  assert.throws(
    () => resolvePitRlConfig({ rounds: [{ reference: 'human' as never, updates: 3 }] }),
    /rounds\[0\]\.reference must be 'data' or 'policy'/,
  );
  assert.throws(() => resolvePitRlConfig({ rounds: [] }), /rounds must be a non-empty list/);
  assert.throws(() => resolvePitRlConfig({ ppo: { totalUpdates: 3 } }), /ppo\.totalUpdates/);
});

test('round 0 only: references are y_l from the data; the gap reward rises', async () => {
  const m = models('r0');
  const refs: number[][] = [];
  const rows: MetricsRow[] = [];
  const res = await trainPitRl(
    m,
    DATA,
    recordingGap(refs),
    {
      rounds: [{ reference: 'data', updates: 25 }],
      ppo: PPO,
    },
    { onLog: (r) => rows.push(r) },
  );
  assert.is(res.length, 1);
  assert.ok(
    refs.every((r) => r.join() === Y_L.join()),
    'every reference is y_l (EOS stripped)',
  );
  assert.ok(rows.every((r) => r['pit/round'] === 0));
  const first = rows.slice(0, 5).reduce((s, r) => s + r['pit/gap_reward_mean']!, 0) / 5;
  const last = rows.slice(-5).reduce((s, r) => s + r['pit/gap_reward_mean']!, 0) / 5;
  assert.ok(last > first + 0.2 && last > 0.3, `gap reward ${first} → ${last}`);
  assert.ok(rows.at(-1)!['pit/positive_gap_frac']! > 0.5);
  for (const k of Object.values(m)) k.dispose();
});

test('round 1 only: references are sampled from M_P^RL each iteration; a missing sampler is an error', async () => {
  const m = models('r1');
  const refs: number[][] = [];
  await trainPitRl(m, DATA, recordingGap(refs), {
    rounds: [{ reference: 'policy', updates: 2 }],
    ppo: PPO,
    referenceLength: 3,
  });
  assert.is(refs.length, 2 * PPO.batchSize);
  assert.ok(
    refs.some((r) => r.join() !== Y_L.join()),
    'references come from the sampler',
  );
  assert.ok(refs.every((r) => r.length <= 3 && !r.includes(EOS)));
  const { sampler: _unused, ...noSampler } = m;
  await trainPitRl(noSampler, DATA, recordingGap([]), {
    rounds: [{ reference: 'policy', updates: 1 }],
    ppo: PPO,
  }).then(
    () => assert.unreachable('should fail without a sampler'),
    (e: Error) => assert.match(e.message, /'policy' round needs models.sampler/),
  );
  for (const k of Object.values(m)) k.dispose();
});

test("round-1 references are M_P^RL's own samples of [x SEP], the layout it learned", () => {
  const sampler = new Gpt(TINY, undefined, 'ref.mp_rl');
  const options = { temperature: 0.4, maxNewTokens: 3, eosId: EOS, padId: SPECIAL_IDS.pad };
  const source = pitPromptSource(DATA, { reference: 'policy', updates: 1 }, sampler, options);
  const queries = source(8, new Rng(5));
  // The same draws by hand: examples first, then M_P's own query <bos> x <sep>.
  const rng = new Rng(5);
  const batch = Array.from({ length: 8 }, () => DATA[rng.int(DATA.length)]!);
  assert.equal(batch[0]!.prompt.at(-1) === SPECIAL_IDS.sep, false, 'data prompts end before SEP');
  const own = sample(sampler, batch.map(referenceQuery), { ...options, rng }).tokens;
  assert.equal(
    queries.map((q) => splitPitQuery(q).reference),
    own.map((y) => stripEos(y)),
  );
  assert.ok(batch.map(referenceQuery).every((q) => q.at(-1) === SPECIAL_IDS.sep));
  sampler.dispose();
});

test('both rounds: one metrics file per round, each row tagged with its round', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pitlab-pit-rl-'));
  const m = models('both');
  try {
    const res = await trainPitRl(
      m,
      DATA,
      recordingGap([]),
      {
        rounds: [
          { reference: 'data', updates: 2 },
          { reference: 'policy', updates: 3 },
        ],
        ppo: PPO,
        referenceLength: 4,
      },
      { dir },
    );
    assert.equal(
      res.map((r) => r.updates),
      [2, 3],
    );
    const r0 = readMetrics(join(dir, 'pit_rl.r0.metrics.jsonl'));
    const r1 = readMetrics(join(dir, 'pit_rl.r1.metrics.jsonl'));
    assert.equal(
      r0.map((r) => r['pit/round']),
      [0, 0],
    );
    assert.equal(
      r1.map((r) => r['pit/round']),
      [1, 1, 1],
    );
    for (const r of [...r0, ...r1]) {
      assert.type(r['pit/gap_reward_mean'], 'number');
      assert.type(r['objective/kl'], 'number');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const k of Object.values(m)) k.dispose();
  }
});

test.run();
