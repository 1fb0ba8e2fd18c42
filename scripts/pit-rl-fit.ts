/**
 * Does PIT RL fit the queries it trains on, and does what it learns carry to other prompts? This
 * separates an optimiser that cannot climb the reward (a bug, or too small a step) from one that
 * climbs it on its own queries without learning anything general.
 *
 * From M_PIT^SFT, PIT RL round 0 (y_ref = y_l, fixed) trains on the first `queries` training
 * triples only, with a group baseline (RLOO, 8 samples per query, 128 per update), against the
 * exact judge's gap (the oracle of `pit-rl-ceiling.ts`) and against R_PIT's. Before and after, the
 * improver improves each y_l 16 times at its inference temperature on those training queries and
 * on as many validation triples; the exact judge scores every improvement, and each Δ is a cluster
 * bootstrap over prompts. Test prompts are never read.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/pit-rl-fit.ts [queries] [updates] [lr] [β] [rollout T] [rewards]
 *
 * `rewards` is 'both' (default), 'oracle' or 'rpit'.
 */
import { judge } from '../src/data/synth/judge';
import { compare } from '../src/eval';
import { notebookSettings, resolvePipelineConfig } from '../src/index';
import type { Gpt } from '../src/models';
import { gapReward, improveOnce } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { policyPrompt } from '../src/train/batches';
import { meanOf } from '../src/train/loop';
import { type GapRewardFn, trainPitRl } from '../src/train/pit_rl';
import { cachedStages, configOverrides } from './cached-stages';
import { deltaText, oracleGap, rewardTrend } from './pit-rl-common';

type Triple = ReturnType<typeof readSplits>['train'][number];

const DRAWS = 16;

function parseArgs() {
  const [queries, updates, lr, klCoef, rolloutT] = [32, 60, 1e-4, 0.05, 0.2].map((d, i) =>
    Number(process.argv[2 + i] ?? d),
  ) as [number, number, number, number, number];
  const which = process.argv[7] ?? 'both';
  if (!['both', 'oracle', 'rpit'].includes(which))
    throw new Error(`rewards: expected 'both', 'oracle' or 'rpit', got '${which}'`);
  if (!Number.isInteger(queries) || queries < 1)
    throw new Error(`queries: expected a positive integer, got ${process.argv[2]}`);
  return { queries, updates, lr, klCoef, rolloutT, which };
}

async function main(): Promise<void> {
  await runtime.ready();
  const args = parseArgs();
  const { profile, seed, cacheDir } = notebookSettings();
  const config = resolvePipelineConfig(profile, configOverrides());
  const dirs = cachedStages({ profile, seed, cacheDir }, ['tokenizer', 'rm_rpit', 'sft_pit']);
  const tok = readTokenizer(dirs.tokenizer!);
  const splits = readSplits(dirs.tokenizer!);
  const rpit = loadReward(dirs.rm_rpit!);
  const sft = loadPolicy(dirs.sft_pit!);
  const { temperature, maxNewTokens } = config.improve;
  const sets: Record<string, Triple[]> = {
    'trained-on training queries': splits.train.slice(0, args.queries),
    'validation queries': splits.valid.slice(0, args.queries),
  };

  /** Exact-judge scores of DRAWS improvements of each y_l, with the prompt index as cluster. */
  const judged = (policy: Gpt, rows: Triple[], label: string) => {
    const xs = rows.flatMap((r) => Array<string>(DRAWS).fill(r.prompt));
    const refs = rows.flatMap((r) => Array<string>(DRAWS).fill(r.rejected));
    const ys = improveOnce(policy, tok, xs, refs, {
      temperature,
      maxNewTokens,
      rng: runtime.rng(`fit.${label}`),
    });
    const groups = Int32Array.from(xs, (_, i) => Math.floor(i / DRAWS));
    return { scores: xs.map((x, i) => judge(x, ys[i]!).score), groups };
  };
  const before = Object.fromEntries(
    Object.entries(sets).map(([name, rows]) => [name, judged(sft, rows, name)]),
  );
  const { rounds: _r, validationSize: _s, validationDraws: _d, ...ppo } = config.pitRl;
  console.log(
    `${profile} profile, seed ${seed}: PIT RL round 0 on ${args.queries} training queries, ${args.updates} updates of RLOO (8 × 16), lr ${args.lr}, β ${args.klCoef}, rollouts at T=${args.rolloutT}; judged on ${DRAWS} improvements of each y_l at T=${temperature}`,
  );
  for (const [name, b] of Object.entries(before))
    console.log(`M_PIT^SFT on ${name}: judge ${meanOf(b.scores).toFixed(3)}`);

  const rewards: Record<string, GapRewardFn> = {
    oracle: oracleGap(rpit, tok, splits.valid).reward,
    rpit: gapReward(rpit, tok),
  };
  const data = sets['trained-on training queries']!.map((e) => ({
    prompt: policyPrompt(tok, e.prompt).slice(0, -1),
    rejected: tok.encode(e.rejected),
  }));
  for (const [name, reward] of Object.entries(rewards)) {
    if (args.which !== 'both' && args.which !== name) continue;
    runtime.seed(seed);
    const policy = loadPolicy(dirs.sft_pit!);
    const started = performance.now();
    const [result] = await trainPitRl({ policy, ref: sft }, data, reward, {
      rounds: [{ reference: 'data', updates: args.updates }],
      ppo: {
        ...ppo,
        advantage: 'rloo',
        groupSize: 8,
        batchSize: 128,
        lr: args.lr,
        klCoef: args.klCoef,
        temperature: args.rolloutT,
        totalUpdates: undefined,
        validateEvery: 0,
      },
    });
    console.log(
      `against ${name === 'oracle' ? 'the oracle gap' : "R_PIT's gap"}: training ${rewardTrend(result!.history)} (first and last five updates); ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    for (const [set, rows] of Object.entries(sets)) {
      const after = judged(policy, rows, set);
      const b = before[set]!;
      const c = compare(after.scores, b.scores, {
        groups: b.groups,
        rng: runtime.rng(`fit.cmp.${name}.${set}`),
      });
      console.log(
        `  ${set}: judge ${meanOf(after.scores).toFixed(3)}, vs M_PIT^SFT ${deltaText(c)}`,
      );
    }
    policy.dispose();
  }
  for (const m of [rpit, sft]) m.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
