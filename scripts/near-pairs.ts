/**
 * Do near pairs make the reward models see small improvements? Trains the chain data → tokenizer →
 * sft_mp → rm_rp → rm_rpit of the profile in PITLAB_PROFILE with `data.nearShare` set to the share
 * given (the stage cache keeps each arm), then scores, on validation prompts only:
 *   - the data's own validation pairs: R_P accuracy and R_PIT's sign on (y_w, y_l);
 *   - near pairs on the distinct validation prompts (a response and the same response with one or
 *     two more violations, labelled by the exact judge without label noise): the same two figures.
 * One pair per prompt, so the Wilson interval's unit is the prompt. Test prompts are never read.
 * Run one process per arm (they train in parallel) and compare the printed JSON lines:
 *
 *   PITLAB_PROFILE=default npx tsx scripts/near-pairs.ts 0
 *   PITLAB_PROFILE=default npx tsx scripts/near-pairs.ts 0.5
 */
import { judge } from '../src/data/synth/judge';
import { makeNearPair } from '../src/data/synth/pairs';
import { wilsonInterval } from '../src/eval';
import { notebookSettings, runStages } from '../src/index';
import { scoreGap, scoreRp } from '../src/pit/generate';
import { loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { Rng, runtime } from '../src/runtime';

interface Pair {
  prompt: string;
  chosen: string;
  rejected: string;
}

async function main(): Promise<void> {
  const nearShare = Number(process.argv[2] ?? 0);
  const { profile, seed, cacheDir } = notebookSettings();
  const config = { data: { nearShare } };
  const t0 = Date.now();
  const run = { profile, seed, cacheDir, overrides: config, jobs: 1 };
  const { dirOf } = await runStages(run, ['rm_rpit']);
  const trainS = (Date.now() - t0) / 1000;
  const tok = readTokenizer(dirOf('tokenizer'));
  const splits = readSplits(dirOf('tokenizer'));
  const rp = loadReward(dirOf('rm_rp'));
  const rpit = loadReward(dirOf('rm_rpit'));

  const prompts = [...new Set(splits.valid.map((p) => p.prompt))];
  const rng = new Rng(7).fork('near-pairs/valid');
  const near: Pair[] = [];
  for (const prompt of prompts) {
    const pair = makeNearPair(prompt, rng, { tau: 0 });
    if (pair) near.push(pair);
  }
  const score = (pairs: Pair[]) => {
    const xs = pairs.map((p) => p.prompt);
    const w = pairs.map((p) => p.chosen);
    const l = pairs.map((p) => p.rejected);
    const a = scoreRp(rp, tok, xs, w);
    const b = scoreRp(rp, tok, xs, l);
    const gap = scoreGap(rpit, tok, xs, w, l);
    const rpRight = pairs.filter((_, i) => a[i]! > b[i]!).length;
    const rpitRight = pairs.filter((_, i) => gap[i]! > 0).length;
    const row = (k: number) => ({ acc: k / pairs.length, ci: wilsonInterval(k, pairs.length) });
    const margin =
      pairs.reduce(
        (s, p) => s + judge(p.prompt, p.chosen).score - judge(p.prompt, p.rejected).score,
        0,
      ) / pairs.length;
    return { n: pairs.length, judgeMargin: margin, rp: row(rpRight), rpit: row(rpitRight) };
  };
  const result = {
    profile,
    seed,
    nearShare,
    backend: runtime.backend,
    trainSeconds: Math.round(trainS),
    validPairs: score(splits.valid),
    nearValidPairs: score(near),
  };
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
