/**
 * Which part of the reward models misreads the improver's edits? On validation prompts only,
 * M_P^RL answers (y_0, as the evaluation samples it) and M_PIT^SFT improves once (y_1, and a
 * sibling), and each signal below predicts the gain of y_1 over y_0. On the edits that changed the
 * exact judge's score, the fraction each ranks the judge's way (`improver-edits.ts`):
 *   - R_PIT and R_P as trained ('eos+loglik'), and each of their two parts alone: the EOS head
 *     (λ = 0) and λ × the trunk's mean log-likelihood (a zero head);
 *   - M_P^SFT's mean log-likelihood of the response, untrained;
 *   - M_PIT^SFT's view: how likely it is to keep a response unchanged, log p(y | x, y_ref = y),
 *     and its preference for the edit, log p(y_1 | x, y_0) − log p(y_0 | x, y_1);
 *   - the noisy oracles `pit-rl-ceiling.ts` trains against (the judge's gap plus fixed noise σ);
 *   - "always better": the share of edits that improve, what a constant reward scores.
 * Test is never read; nothing is trained.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/reward-parts.ts [draws=4]
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../src/data';
import { type Gpt, RewardModel, ScalarHead, sequenceLogProbs } from '../src/models';
import { scoreGap } from '../src/pit/generate';
import { loadPolicy, loadReward } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { idsTensor, padRight, policyPrompt, responseIds } from '../src/train/batches';
import { openCachedRun } from './cached-stages';
import { editReadout, improverEdits, readoutText, siblingReadout } from './improver-edits';
import { oracleGap } from './pit-rl-common';

const BATCH = 128;

/** Mean log p(y_t | prefix, y_<t) over y's tokens and EOS, per row. */
function meanLogLik(model: Gpt, prefixes: number[][], responses: number[][]): Float32Array {
  const out = new Float32Array(prefixes.length);
  for (let s = 0; s < prefixes.length; s += BATCH) {
    const rows = prefixes.slice(s, s + BATCH).map((p, i) => [...p, ...responses[s + i]!]);
    const batch = padRight(rows);
    const ids = idsTensor(batch);
    const logp = sequenceLogProbs(model, ids);
    const data = logp.dataSync();
    tf.dispose([ids, logp]);
    rows.forEach((_, i) => {
      const start = prefixes[s + i]!.length - 1; // position start predicts the first y token
      const n = responses[s + i]!.length;
      let sum = 0;
      for (let t = start; t < start + n; t++) sum += data[i * (batch.T - 1) + t]!;
      out[s + i] = sum / n;
    });
  }
  return out;
}

/** The same trunk and head read one part at a time: the head alone, or the log-likelihood alone. */
function parts(rm: RewardModel): { head: RewardModel; loglik: RewardModel } {
  const zero = tf.zeros([rm.trunk.config.nEmbd, 1]);
  const zeroHead = new ScalarHead(rm.trunk.config.nEmbd, { weight: zero });
  zero.dispose();
  const same = { pooling: rm.pooling, loglikWeight: rm.loglikWeight };
  return {
    head: new RewardModel(rm.kind, rm.trunk, { ...same, head: rm.head, loglikWeight: 0 }),
    loglik: new RewardModel(rm.kind, rm.trunk, { ...same, head: zeroHead }),
  };
}

const diff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Float32Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);

function rewardSignals(
  rp: RewardModel,
  rpit: RewardModel,
  tok: Tokenizer,
  xs: string[],
  y0: string[],
  y1: string[],
): Record<string, Float32Array> {
  // an R_P's gap is its difference of scores
  const gain = (m: RewardModel) => scoreGap(m, tok, xs, y1, y0);
  const rpParts = parts(rp);
  const rpitParts = parts(rpit);
  return {
    R_PIT: gain(rpit),
    'R_PIT head only': gain(rpitParts.head),
    'R_PIT log-likelihood only': gain(rpitParts.loglik),
    R_P: gain(rp),
    'R_P head only': gain(rpParts.head),
    'R_P log-likelihood only': gain(rpParts.loglik),
  };
}

function improverSignals(
  sftMp: Gpt,
  mpit: Gpt,
  tok: Tokenizer,
  xs: string[],
  y0: string[],
  y1: string[],
): Record<string, Float32Array> {
  const resp = (ys: string[]) => ys.map((y) => responseIds(tok, y));
  const mpPrefix = xs.map((x) => policyPrompt(tok, x));
  const pitPrefix = (refs: string[]) => xs.map((x, i) => policyPrompt(tok, x, refs[i]!));
  return {
    "M_P^SFT's mean log-likelihood": diff(
      meanLogLik(sftMp, mpPrefix, resp(y1)),
      meanLogLik(sftMp, mpPrefix, resp(y0)),
    ),
    'M_PIT^SFT keeps y unchanged': diff(
      meanLogLik(mpit, pitPrefix(y1), resp(y1)),
      meanLogLik(mpit, pitPrefix(y0), resp(y0)),
    ),
    'M_PIT^SFT prefers the edit': diff(
      meanLogLik(mpit, pitPrefix(y0), resp(y1)),
      meanLogLik(mpit, pitPrefix(y1), resp(y0)),
    ),
  };
}

async function main(): Promise<void> {
  const draws = Number(process.argv[2] ?? 4);
  const { profile, seed, config, dirs, tok, splits } = await openCachedRun([
    'sft_mp',
    'sft_pit',
    'rl_mp',
    'rm_rp',
    'rm_rpit',
  ]);
  const mpRl = loadPolicy(dirs.rl_mp!);
  const mpit = loadPolicy(dirs.sft_pit!);
  const sftMp = loadPolicy(dirs.sft_mp!);
  const rp = loadReward(dirs.rm_rp!);
  const rpit = loadReward(dirs.rm_rpit!);

  const e = improverEdits(
    { mpRl, mpit, tok },
    splits.valid.map((p) => p.prompt),
    config.improve,
    draws,
    'parts',
  );
  // the noisy oracles PIT RL was run against (`pit-rl-common.ts`), read the same way
  const noisyOracles = (y1: string[]) =>
    Object.fromEntries(
      [0.27, 0.35, 0.5].map((sigma) => {
        const { gap } = oracleGap(rpit, tok, splits.valid, sigma);
        return [
          `noisy oracle σ ${sigma}`,
          Float32Array.from(e.xs, (x, i) => gap(x, y1[i]!, e.y0[i]!)),
        ];
      }),
    );
  const signals = (y1: string[]) => ({
    ...rewardSignals(rp, rpit, tok, e.xs, e.y0, y1),
    ...improverSignals(sftMp, mpit, tok, e.xs, e.y0, y1),
    ...noisyOracles(y1),
    'always better': new Float32Array(e.xs.length).fill(1),
  });
  const ofSiblings = signals(e.sibling);
  const rows = Object.entries(signals(e.y1)).map(([name, gain]) => {
    const r = editReadout(e, gain, `parts.${name}`);
    const sib = siblingReadout(
      e,
      gain,
      ofSiblings[name as keyof typeof ofSiblings],
      `parts.${name}`,
    );
    const text = `${readoutText(r)}; siblings ${sib.accuracy.toFixed(3)} (${sib.edits})`;
    return { name, all: r.all, balanced: r.balanced, siblings: sib, text };
  });
  for (const r of rows) console.log(`${r.name.padEnd(32)} ${r.text}`);
  console.log(JSON.stringify({ profile, seed, backend: runtime.backend, draws, rows }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
