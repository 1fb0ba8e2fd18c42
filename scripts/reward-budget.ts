/**
 * Is R_P blind to the improver's edits for want of training, or of the right pairs? The profile
 * trains R_P 100 steps of 32 pairs (a quarter of one pass over the 13,000 training pairs) and
 * R_PIT 200. This trains R_P from M_P^SFT with the settings below and every `every` steps scores
 * it on validation only: the data's validation pairs, and M_PIT^SFT's edits of M_P^RL's answers
 * (`improver-edits.ts`: all, improving and worsening edits apart, their balanced mean, and how
 * it orders two improvements of one answer, as a group baseline compares them).
 * With `editPrompts` > 0 the training mixture holds `editShare` of *edit pairs*: the same kind of
 * edits on that many training prompts, labelled by the task's simulated labeller (`labelPair`,
 * the data's Bradley–Terry rule and label noise; ties dropped), `editDraws` answers per prompt.
 * `editPairs` 'siblings' pairs two improvements of one answer instead of the answer and its
 * improvement: what a group baseline compares, with no "edited or not" to tell them apart.
 * `editFile` keeps them between runs.
 * With `rpitSteps` > 0, R_PIT then trains from that R_P on the same mixture and is scored the same
 * way. Test is never read; the exact judge scores only validation edits.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/reward-budget.ts '{"steps":3000,"lr":3e-4,
 *     "pooling":"eos+loglik","every":500,"rpitSteps":0,"editPrompts":0,"editShare":0.5,
 *     "editDraws":1,"editPairs":"edit","editFile":"edits.json","draws":4}'
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  copyTrunk,
  REWARD_POOLINGS,
  RewardModel,
  type RewardPooling,
  rewardModelFrom,
  saveRewardModel,
} from '../src/models';
import { trainSettings } from '../src/pit/config';
import { scoreGap } from '../src/pit/generate';
import { loadPolicy } from '../src/pit/stages';
import { Rng, runtime } from '../src/runtime';
import { evaluateReward, type Pair, trainReward } from '../src/train/reward';
import { openCachedRun } from './cached-stages';
import {
  editReadout,
  improverEdits,
  labelledPairs,
  mixture,
  readoutText,
  siblingReadout,
} from './improver-edits';

const SETTINGS = {
  steps: 3000,
  lr: 3e-4,
  pooling: 'eos+loglik' as RewardPooling,
  every: 500,
  rpitSteps: 0,
  editPrompts: 0,
  editShare: 0.5,
  editDraws: 1,
  editPairs: 'edit' as 'edit' | 'siblings',
  editFile: '',
  /** Where to save the last model trained (R_PIT if trained, else R_P); '' keeps none. */
  saveTo: '',
  draws: 4,
};
type Settings = typeof SETTINGS;

async function main(): Promise<void> {
  const s: Settings = { ...SETTINGS, ...JSON.parse(process.argv[2] ?? '{}') };
  if (!REWARD_POOLINGS.includes(s.pooling))
    throw new Error(`pooling: expected one of ${REWARD_POOLINGS.join(', ')}, got '${s.pooling}'`);
  const { profile, seed, config, dirs, tok, splits } = await openCachedRun([
    'sft_mp',
    'sft_pit',
    'rl_mp',
  ]);
  const models = { mpRl: loadPolicy(dirs.rl_mp!), mpit: loadPolicy(dirs.sft_pit!), tok };
  const t0 = Date.now();
  const seconds = () => Math.round((Date.now() - t0) / 1000);

  // 1. edit pairs on training prompts, labelled by the simulated labeller (kept in editFile)
  if (!['edit', 'siblings'].includes(s.editPairs))
    throw new Error(`editPairs: expected 'edit' or 'siblings', got '${s.editPairs}'`);
  let editPairs: Pair[] = [];
  if (s.editPrompts > 0) {
    if (s.editFile && existsSync(s.editFile)) {
      editPairs = JSON.parse(readFileSync(s.editFile, 'utf8')).pairs as Pair[];
    } else {
      const prompts = [...new Set(splits.train.map((p) => p.prompt))].slice(0, s.editPrompts);
      const e = improverEdits(models, prompts, config.improve, s.editDraws, 'budget.train');
      const labeller = new Rng(seed).fork('budget/labels');
      // 'edit': y_0 against its improvement; 'siblings': two improvements of one y_0
      const [as, bs] = s.editPairs === 'siblings' ? [e.y1, e.sibling] : [e.y0, e.y1];
      editPairs = labelledPairs(e.xs, as, bs, labeller);
      if (s.editFile)
        writeFileSync(
          s.editFile,
          JSON.stringify({ seed, prompts: prompts.length, pairs: editPairs }),
        );
    }
    console.log(`${editPairs.length} edit pairs (${seconds()} s)`);
  }
  const train = mixture(splits.train, editPairs, s.editShare).pairs;

  // 2. the validation edits every model is scored on
  const edits = improverEdits(
    models,
    splits.valid.map((p) => p.prompt),
    config.improve,
    s.draws,
    'budget',
  );
  const report = (name: string, step: number, rm: RewardModel) => {
    // an R_P's gap is its difference of scores
    const over = (ys: string[]) => scoreGap(rm, tok, edits.xs, ys, edits.y0);
    const gain = over(edits.y1);
    const pairs = evaluateReward(rm, tok, splits.valid);
    const pairAcc = rm.kind === 'rpit' ? pairs['eval_pit/swap_accuracy'] : pairs.eval_accuracy;
    const label = `budget.${name}.${step}`;
    const r = editReadout(edits, gain, label);
    const sib = siblingReadout(edits, gain, over(edits.sibling), label);
    console.log(
      `${name} step ${step} (${seconds()} s): pairs ${pairAcc?.toFixed(3)}; edits ${readoutText(r)}; siblings ${sib.accuracy.toFixed(3)} (${sib.edits})`,
    );
  };
  const every = (n: number, name: string, rm: RewardModel) => ({
    onProgress: (step: number) => {
      if (step % s.every === 0 && step < n) report(name, step, rm);
    },
  });

  // 3. R_P from M_P^SFT, then R_PIT from R_P (as the rm_rpit stage starts it)
  const work = mkdtempSync(path.join(tmpdir(), 'budget-'));
  const sft = loadPolicy(dirs.sft_mp!);
  const rp = new RewardModel('rp', copyTrunk(sft), { pooling: s.pooling });
  sft.dispose();
  report('R_P', 0, rp);
  await trainReward(
    { reward: rp },
    { tokenizer: tok, train },
    {
      ...trainSettings({ ...config.reward, maxSteps: s.steps, lr: s.lr }, work, 'rp_budget'),
      loss: 'rp-difference',
    },
    every(s.steps, 'R_P', rp),
  );
  report('R_P', s.steps, rp);
  if (s.rpitSteps > 0) {
    const rpit = rewardModelFrom(rp, 'rpit');
    await trainReward(
      { reward: rpit, rp },
      { tokenizer: tok, train },
      {
        ...trainSettings({ ...config.gapReward, maxSteps: s.rpitSteps }, work, 'rpit_budget'),
        loss: 'five-constraints',
      },
      every(s.rpitSteps, 'R_PIT', rpit),
    );
    report('R_PIT', s.rpitSteps, rpit);
    if (s.saveTo) saveRewardModel(s.saveTo, rpit);
  } else if (s.saveTo) saveRewardModel(s.saveTo, rp);
  rmSync(work, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      profile,
      seed,
      backend: runtime.backend,
      settings: s,
      editPairs: editPairs.length,
      train: train.length,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
