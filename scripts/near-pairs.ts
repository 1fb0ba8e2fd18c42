/**
 * Do near pairs make the reward models see small improvements? Trains the chain data → tokenizer →
 * sft_mp → rm_rp → rm_rpit of the profile in PITLAB_PROFILE with `data.nearShare` (and
 * `data.nearKinds`) set as given (the stage cache keeps each arm), then scores, on validation prompts only:
 *   - the data's own validation pairs: R_P accuracy and R_PIT's sign on (y_w, y_l);
 *   - near pairs on the distinct validation prompts (a response and the same response with one or
 *     two more violations, labelled by the exact judge without label noise): the same two figures.
 *   - the same on M_P^SFT's own answers (sampled as y_0 is): an answer and that answer with one or
 *     two more violations, and two independent answers, both judge-labelled, ties dropped. These
 *     separate "the difference is small" from "the responses are the model's, not the writer's".
 * `byKind` splits R_P's hits by the one constraint a pair differs in.
 * One pair per prompt, so the Wilson interval's unit is the prompt. Test prompts are never read.
 * Run one process per arm (they train in parallel) and compare the printed JSON lines:
 *
 *   PITLAB_PROFILE=default npx tsx scripts/near-pairs.ts 0
 *   PITLAB_PROFILE=default npx tsx scripts/near-pairs.ts 0.5
 *   PITLAB_PROFILE=default npx tsx scripts/near-pairs.ts 0.5 relational
 */
import { judge, wellFormed } from '../src/data/synth/judge';
import { labelPair, makeNearPair } from '../src/data/synth/pairs';
import { parsePrompt } from '../src/data/synth/task';
import { perturb } from '../src/data/synth/writer';
import { wilsonInterval } from '../src/eval';
import { notebookSettings, resolvePipelineConfig, runStages } from '../src/index';
import { respond, scoreGap, scoreRp } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { Rng, runtime } from '../src/runtime';

interface Pair {
  prompt: string;
  chosen: string;
  rejected: string;
}

async function main(): Promise<void> {
  const nearShare = Number(process.argv[2] ?? 0);
  const nearKinds = process.argv[3] ?? 'all';
  const { profile, seed, cacheDir } = notebookSettings();
  // The profile's own nearKinds unless one is given.
  const config = { data: { nearShare, ...(process.argv[3] ? { nearKinds } : {}) } };
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
    // R_P right / pairs, by the one constraint the two responses differ in ('several' if more).
    const byKind: Record<string, [number, number]> = {};
    pairs.forEach((p, i) => {
      const [cw, cl] = [judge(p.prompt, p.chosen), judge(p.prompt, p.rejected)];
      const kinds = cw.constraints.filter((c, k) => c.ok !== cl.constraints[k]!.ok);
      const kind = kinds.length === 1 ? kinds[0]!.kind : 'several';
      byKind[kind] ??= [0, 0];
      const tally = byKind[kind];
      tally[0] += a[i]! > b[i]! ? 1 : 0;
      tally[1] += 1;
    });
    return { n: pairs.length, judgeMargin: margin, rp: row(rpRight), rpit: row(rpitRight), byKind };
  };
  // The model's own answers, as the evaluation samples y_0 (M_P^SFT here: rl_mp is not trained).
  const { responseTemperature, maxNewTokens } = resolvePipelineConfig(profile, config).improve;
  const policy = loadPolicy(dirOf('sft_mp'));
  const answer = (label: string) =>
    respond(policy, tok, prompts, {
      temperature: responseTemperature,
      maxNewTokens,
      rng: runtime.rng(label),
    });
  const [first, second] = [answer('near-pairs.y1'), answer('near-pairs.y2')];
  const modelNear: Pair[] = [];
  const modelPairs: Pair[] = [];
  prompts.forEach((prompt, i) => {
    const task = parsePrompt(prompt);
    const y = first[i]!;
    if (wellFormed(y)) {
      const pair = labelPair(task, y, perturb(task, y, rng, rng.next() < 0.5 ? 1 : 2), rng, 0);
      if (pair) modelNear.push(pair);
    }
    const pair = labelPair(task, y, second[i]!, rng, 0);
    if (pair) modelPairs.push(pair);
  });
  policy.dispose();
  // Which constraints the model's answers break at all (first draw, every validation prompt).
  const modelFailures: Record<string, number> = {};
  prompts.forEach((prompt, i) => {
    for (const c of judge(prompt, first[i]!).constraints) {
      if (!c.ok) modelFailures[c.kind] = (modelFailures[c.kind] ?? 0) + 1;
    }
  });
  const result = {
    profile,
    seed,
    nearShare,
    nearKinds,
    backend: runtime.backend,
    trainSeconds: Math.round(trainS),
    validPairs: score(splits.valid),
    nearValidPairs: score(near),
    modelNearPairs: score(modelNear),
    modelSamplePairs: score(modelPairs),
    modelAnswers: prompts.length,
    modelFailures,
    responseTemperature,
  };
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
