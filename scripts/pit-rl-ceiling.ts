/**
 * How far PIT RL can move the improver, and how far R_PIT takes it: the PIT RL ceiling, as
 * `rlhf-ceiling.ts` is RLHF's. From M_PIT^SFT, with the profile's PIT RL settings (curriculum,
 * PPO, round-1 references drawn as y_0 is), PIT RL runs twice: against R_PIT's gap (as the
 * pit_rl stage does) and against the exact judge's gap q(x, y) − q(x, y_ref), an oracle no learned
 * gap model can beat, rescaled to R_PIT's spread on the validation pairs so the KL coefficient
 * weighs both alike. Neither run selects a checkpoint: each keeps its last policy, so what is
 * measured is what the optimiser does with each reward. Every policy (and M_PIT^SFT) then improves
 * M_P^RL's responses to the validation prompts once, at the improver's inference temperature,
 * and the exact judge scores the result. Test prompts are never read.
 * Reads the cached stages of the profile in PITLAB_PROFILE (run `pitlab run` first); trains nothing
 * but the two PIT RL runs.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/pit-rl-ceiling.ts [updates per round] [rollout T] [lr] [β]
 *     [PPO overrides as JSON, e.g. '{"advantage":"rloo","groupSize":8,"batchSize":64,"rounds":[1]}'] [rewards]
 *
 * `rewards` is 'both' (default), 'oracle' or 'rpit': one run alone halves the time.
 */
import { judge } from '../src/data/synth/judge';
import { compare, meanWithCi } from '../src/eval';
import { notebookSettings, resolvePipelineConfig } from '../src/index';
import type { Gpt } from '../src/models';
import { decodeResponse, gapReward, improveOnce, respond, scoreGap } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { policyPrompt } from '../src/train/batches';
import { meanOf, stdOf } from '../src/train/loop';
import { type GapRewardFn, trainPitRl } from '../src/train/pit_rl';
import { ValueModel } from '../src/train/ppo';
import { cachedStages, configOverrides } from './cached-stages';

async function main(): Promise<void> {
  await runtime.ready();
  const { profile, seed, cacheDir } = notebookSettings();
  const config = resolvePipelineConfig(profile, configOverrides());
  const dirs = cachedStages({ profile, seed, cacheDir }, [
    'tokenizer',
    'rm_rpit',
    'rl_mp',
    'sft_pit',
  ]);
  const { rounds, validationSize: _v, validationDraws: _d, ...ppo } = config.pitRl;
  const updates = Number(process.argv[2] ?? ppo.totalUpdates);
  const rolloutT = Number(process.argv[3] ?? ppo.temperature);
  const lr = Number(process.argv[4] ?? ppo.lr);
  const klCoef = Number(process.argv[5] ?? ppo.klCoef);
  // `rounds` in the overrides replaces the curriculum (e.g. [1]: round 1 alone).
  const { rounds: curriculum = rounds, ...overrides } = JSON.parse(
    process.argv[6] ?? '{}',
  ) as Partial<typeof ppo> & { rounds?: number[] };
  const which = process.argv[7] ?? 'both';
  if (!['both', 'oracle', 'rpit'].includes(which))
    throw new Error(`rewards: expected 'both', 'oracle' or 'rpit', got '${which}'`);
  const { temperature: improveT, responseTemperature, maxNewTokens, samples } = config.improve;
  const tok = readTokenizer(dirs.tokenizer!);
  const splits = readSplits(dirs.tokenizer!);
  const rpit = loadReward(dirs.rm_rpit!);
  const sampler = loadPolicy(dirs.rl_mp!);
  const sft = loadPolicy(dirs.sft_pit!);

  // The oracle on R_PIT's scale, fitted on the validation pairs in both orders.
  const v = splits.valid;
  const px = [...v, ...v].map((p) => p.prompt);
  const [ya, yb] = [
    [...v.map((p) => p.chosen), ...v.map((p) => p.rejected)],
    [...v.map((p) => p.rejected), ...v.map((p) => p.chosen)],
  ];
  const judgeGap = ya.map((y, i) => judge(px[i]!, y).score - judge(px[i]!, yb[i]!).score);
  const scale = stdOf(scoreGap(rpit, tok, px, ya, yb)) / stdOf(judgeGap);
  const text = (ids: number[]) => decodeResponse(tok, ids);
  const rewards: Record<string, GapRewardFn> = {
    'R_PIT gap': gapReward(rpit, tok),
    'oracle gap': (xs, ys, refs) =>
      Float32Array.from(xs, (x, i) => {
        const prompt = tok.decode(x);
        return scale * (judge(prompt, text(ys[i]!)).score - judge(prompt, text(refs[i]!)).score);
      }),
  };
  console.log(
    `${profile} profile, seed ${seed}: rounds [${curriculum}] × ${updates} updates, lr ${lr}, β ${klCoef}, rollouts at T=${rolloutT}, ${JSON.stringify({ ...ppo, ...overrides })}; improver judged at T=${improveT} on ${v.length} validation prompts × ${samples} draws of y_0; oracle = ${scale.toFixed(2)} × judge gap`,
  );

  // y_0 as the evaluation samples it, on validation prompts.
  const xs = Array.from({ length: samples }, () => v.map((p) => p.prompt)).flat();
  const groups = Int32Array.from(xs, (_, i) => i % v.length);
  const y0 = respond(sampler, tok, xs, {
    temperature: responseTemperature,
    maxNewTokens,
    rng: runtime.rng('ceiling.y0'),
  });
  const q0 = xs.map((x, i) => judge(x, y0[i]!).score);
  const report = (label: string, improver: Gpt) => {
    const y1 = improveOnce(improver, tok, xs, y0, {
      temperature: improveT,
      maxNewTokens,
      rng: runtime.rng('ceiling.y1'),
    });
    const q1 = xs.map((x, i) => judge(x, y1[i]!).score);
    const m = meanWithCi(q1, { groups, rng: runtime.rng(`ceiling.mean.${label}`) });
    const c = compare(q1, q0, { groups, rng: runtime.rng(`ceiling.cmp.${label}`) });
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    console.log(
      `${label.padEnd(22)} judge ${m.mean.toFixed(3)} [${m.ci95[0].toFixed(3)}, ${m.ci95[1].toFixed(3)}]  vs y_0 (${meanOf(q0).toFixed(3)}): Δ ${pct(c.delta)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}]`,
    );
    return q1;
  };

  const base = report('M_PIT^SFT', sft);
  const data = splits.train.map((e) => ({
    prompt: policyPrompt(tok, e.prompt).slice(0, -1),
    rejected: tok.encode(e.rejected),
  }));
  const chosen = Object.entries(rewards).filter(
    ([name]) => which === 'both' || name.startsWith(which === 'oracle' ? 'oracle' : 'R_PIT'),
  );
  for (const [name, reward] of chosen) {
    const started = performance.now();
    runtime.seed(seed);
    const policy = loadPolicy(dirs.sft_pit!);
    const { trunk, headWeight, headBias } = rpit;
    const critic = ValueModel.fromTrunk({ trunk, headWeight, headBias, offset: 0 });
    const trained = await trainPitRl({ policy, ref: sft, critic, sampler }, data, reward, {
      rounds: curriculum.map((r) => ({ reference: r === 0 ? 'data' : 'policy', updates })),
      ppo: {
        ...ppo,
        ...overrides,
        lr,
        klCoef,
        temperature: rolloutT,
        totalUpdates: undefined,
        validateEvery: 0,
      },
      referenceTemperature: responseTemperature,
      referenceLength: maxNewTokens,
    });
    const q1 = report(`PIT RL on ${name}`, policy);
    const cmp = compare(q1, base, { groups, rng: runtime.rng(`ceiling.vs-sft.${name}`) });
    const rows = trained.map((r, i) => {
      const history = r.history as Record<string, number>[];
      // Averages over five updates: one batch's mean score is noisy.
      const avg = (part: Record<string, number>[], key: string) =>
        meanOf(part.map((row) => row[key]!)).toFixed(3);
      const [head, tail] = [history.slice(0, 5), history.slice(-5)];
      return `round ${curriculum[i]}: reward ${avg(head, 'objective/scores')} → ${avg(tail, 'objective/scores')}, kl ${avg(tail, 'objective/kl')}`;
    });
    console.log(
      `${''.padEnd(22)} vs M_PIT^SFT Δ ${(100 * cmp.delta).toFixed(1)}% [${(100 * cmp.ci95[0]).toFixed(1)}%, ${(100 * cmp.ci95[1]).toFixed(1)}%]; first → last update ${rows.join('; ')}; ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    policy.dispose();
    critic.dispose();
  }
  for (const m of [rpit, sampler, sft]) m.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
