/**
 * Do the reward models see the improver's edits once they are trained on such edits? On training
 * prompts only, M_P^RL answers (y_0, sampled as the evaluation samples it) and M_PIT^SFT improves
 * the answer once (y_1, at the improver's temperature). The task's simulated labeller, the same
 * Bradley–Terry rule with label noise that labelled the data's pairs (`labelPair`; ties dropped),
 * labels each (y_0, y_1). These edit pairs are mixed into the data's training pairs at `share`,
 * and R_P and R_PIT are retrained as the profile trains them (R_P from M_P^SFT, R_PIT from that
 * R_P, the profile's steps times `stepsScale`). Both, and the run's own R_P and R_PIT, are then
 * scored on validation only:
 *   - the data's validation pairs (R_P accuracy, R_PIT swap accuracy);
 *   - M_PIT^SFT's edits of M_P^RL's answers to each distinct validation prompt (4 draws), on the
 *     edits that changed the exact judge's score: the fraction each model ranks the judge's way,
 *     with a cluster bootstrap over prompts (as `pitRl.validationAgreement`).
 * Test is never read. The judge never labels a training pair; it scores only validation edits.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/onpolicy-pairs.ts [prompts=4096] [share=0.5] [stepsScale=1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clusteredEditAgreement } from '../src/eval';
import { notebookSettings, resolvePipelineConfig, runStages } from '../src/index';
import { copyTrunk, RewardModel, rewardModelFrom } from '../src/models';
import { trainSettings } from '../src/pit/config';
import { scoreGap } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { Rng, runtime } from '../src/runtime';
import { evaluateReward, type Pair, trainReward } from '../src/train/reward';
import { improverEdits, labelledPairs, mixture } from './improver-edits';

const VALID_DRAWS = 4;

async function main(): Promise<void> {
  const nPrompts = Number(process.argv[2] ?? 4096);
  const share = Number(process.argv[3] ?? 0.5);
  const stepsScale = Number(process.argv[4] ?? 1);
  const { profile, seed, cacheDir } = notebookSettings();
  const config = resolvePipelineConfig(profile);
  const { dirOf } = await runStages({ profile, seed, cacheDir, jobs: 1 }, [
    'sft_pit',
    'rl_mp',
    'rm_rpit',
  ]);
  runtime.seed(seed);
  const tok = readTokenizer(dirOf('tokenizer'));
  const splits = readSplits(dirOf('tokenizer'));
  const mpRl = loadPolicy(dirOf('rl_mp'));
  const mpit = loadPolicy(dirOf('sft_pit'));
  const models = { mpRl, mpit, tok };
  // 1. edit pairs on training prompts, labelled by the simulated labeller
  const t0 = Date.now();
  const trainPrompts = [...new Set(splits.train.map((p) => p.prompt))].slice(0, nPrompts);
  const edits = improverEdits(models, trainPrompts, config.improve, 1, 'onpolicy.train');
  const labeller = new Rng(seed).fork('onpolicy/labels');
  const editPairs = labelledPairs(edits.xs, edits.y0, edits.y1, labeller);
  const dataPairs: Pair[] = splits.train.map((p) => ({
    prompt: p.prompt,
    chosen: p.chosen,
    rejected: p.rejected,
  }));
  const { pairs: mixed, repeats } = mixture(dataPairs, editPairs, share);
  const sampleS = (Date.now() - t0) / 1000;

  // 2. R_P and R_PIT retrained on the mixture, as the profile trains them
  const work = mkdtempSync(path.join(tmpdir(), 'onpolicy-'));
  const t1 = Date.now();
  const sft = loadPolicy(dirOf('sft_mp'));
  const rp = new RewardModel('rp', copyTrunk(sft), { pooling: config.reward.pooling });
  sft.dispose();
  const scaled = <S extends { maxSteps: number }>(s: S) => ({
    ...s,
    maxSteps: Math.round(s.maxSteps * stepsScale),
  });
  await trainReward(
    { reward: rp },
    { tokenizer: tok, train: mixed },
    { ...trainSettings(scaled(config.reward), work, 'rp_onpolicy'), loss: 'rp-difference' },
  );
  const rpit = rewardModelFrom(rp, 'rpit');
  await trainReward(
    { reward: rpit, rp },
    { tokenizer: tok, train: mixed },
    { ...trainSettings(scaled(config.gapReward), work, 'rpit_onpolicy'), loss: 'five-constraints' },
  );
  const trainS = (Date.now() - t1) / 1000;
  rmSync(work, { recursive: true, force: true });

  // 3. validation: the data's pairs, and M_PIT^SFT's edits of M_P^RL's answers
  const validPrompts = splits.valid.map((p) => p.prompt);
  const v = improverEdits(models, validPrompts, config.improve, VALID_DRAWS, 'onpolicy.valid');
  const { xs, groups, before, after } = v;
  const agreement = (gain: ArrayLike<number>, label: string) =>
    clusteredEditAgreement(before, after, gain, { groups, label: `onpolicy.${label}` });
  const scoreModels = (r: RewardModel, g: RewardModel, label: string) => {
    const rpGain = scoreGap(r, tok, xs, v.y1, v.y0);
    return {
      validPairs: {
        rp: evaluateReward(r, tok, splits.valid).eval_accuracy,
        rpit: evaluateReward(g, tok, splits.valid, { loss: 'five-constraints' })[
          'eval_pit/swap_accuracy'
        ],
      },
      edits: {
        rp: agreement(rpGain, `${label}.rp`),
        rpit: agreement(scoreGap(g, tok, xs, v.y1, v.y0), `${label}.rpit`),
      },
    };
  };
  const runRp = loadReward(dirOf('rm_rp'));
  const runRpit = loadReward(dirOf('rm_rpit'));
  const result = {
    profile,
    seed,
    backend: runtime.backend,
    trainPrompts: trainPrompts.length,
    editPairs: editPairs.length,
    repeats,
    share,
    stepsScale,
    mixture: mixed.length,
    seconds: { sample: Math.round(sampleS), train: Math.round(trainS) },
    validEdits: xs.length,
    run: scoreModels(runRp, runRpit, 'run'),
    onPolicy: scoreModels(rp, rpit, 'onpolicy'),
  };
  console.log(JSON.stringify(result));
  for (const m of [runRp, runRpit, rp, rpit, mpRl, mpit]) m.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
