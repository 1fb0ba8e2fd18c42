/**
 * How far PPO can move M_P on the synthetic task, and how far R_P takes it. From M_P^SFT, with
 * the profile's RLHF settings, PPO runs twice: against R_P (as the rl_mp stage does) and against
 * the exact judge itself, an oracle reward that no learned reward model can beat. Each policy is
 * then judged on the validation prompts at PPO's rollout temperature and at the evaluation's, with
 * the pass rate of each constraint. The oracle is rescaled to R_P's spread on the held-out pairs,
 * so the KL coefficient weighs both rewards alike.
 * Reads the cached stages of the profile in PITLAB_PROFILE (run `pitlab run` first).
 *
 *   PITLAB_PROFILE=default npx tsx scripts/rlhf-ceiling.ts [updates]
 */
import { judge } from '../src/data/synth/judge';
import { notebookRun } from '../src/index';
import type { Gpt } from '../src/models';
import { decodeResponse, respond, rpReward, scoreRp } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { policyPrompt } from '../src/train/batches';
import { meanOf, stdOf } from '../src/train/loop';
import { type RewardFn, trainPpo, ValueModel } from '../src/train/ppo';

async function main(): Promise<void> {
  await runtime.ready();
  const run = await notebookRun();
  const config = run.results.config;
  const r = { ...config.rlhf, totalUpdates: Number(process.argv[2] ?? config.rlhf.totalUpdates) };
  const tok = readTokenizer(run.dirs.tokenizer!);
  const splits = readSplits(run.dirs.tokenizer!);
  const xs = splits.valid.map((p) => p.prompt);
  const evalT = config.improve.responseTemperature;
  const prompts = splits.train.map((p) => policyPrompt(tok, p.prompt));

  // The oracle on R_P's scale: judge scores of the held-out pairs stretched to R_P's spread there.
  const rp = loadReward(run.dirs.rm_rp!);
  const held = [...splits.valid, ...splits.test];
  const ys = held.flatMap((p) => [p.chosen, p.rejected]);
  const hx = held.flatMap((p) => [p.prompt, p.prompt]);
  const rpSpread = stdOf(scoreRp(rp, tok, hx, ys));
  const judgeScores = ys.map((y, i) => judge(hx[i]!, y).score);
  const scale = rpSpread / stdOf(judgeScores);
  const centre = meanOf(judgeScores);
  console.log(
    `${run.settings.profile} profile: PPO ${r.totalUpdates} updates × ${r.batchSize} prompts, lr ${r.lr}, β ${r.klCoef}, rollouts at T=${r.temperature}; oracle = ${scale.toFixed(2)} × (judge − ${centre.toFixed(3)})`,
  );

  const rewards: Record<string, RewardFn> = {
    rp: rpReward(rp, tok),
    oracle: (q, y) =>
      Float32Array.from(
        q,
        (v, i) => scale * (judge(tok.decode(v), decodeResponse(tok, y[i]!)).score - centre),
      ),
  };

  const report = (label: string, policy: Gpt) => {
    const cells: string[] = [];
    for (const temperature of [r.temperature, evalT]) {
      let total = 0;
      const pass = new Map<string, [number, number]>(); // constraint → [passed, present]
      const reps = 2;
      for (let k = 0; k < reps; k++) {
        const out = respond(policy, tok, xs, {
          temperature,
          maxNewTokens: config.improve.maxNewTokens,
          rng: runtime.rng(`ceiling.eval.${k}`),
        });
        out.forEach((y, i) => {
          const j = judge(xs[i]!, y);
          total += j.score;
          for (const c of j.constraints) {
            const [ok, n] = pass.get(c.kind) ?? [0, 0];
            pass.set(c.kind, [ok + (c.ok ? 1 : 0), n + 1]);
          }
        });
      }
      const n = xs.length * reps;
      cells.push(`judge@T=${temperature} ${(total / n).toFixed(3)}`);
      if (temperature === evalT) {
        cells.push([...pass].map(([kind, [ok, m]]) => `${kind} ${(ok / m).toFixed(2)}`).join(', '));
      }
    }
    console.log(`${label.padEnd(14)} ${cells.join('  ')}`);
  };

  const sft = loadPolicy(run.dirs.sft_mp!);
  report('M_P^SFT', sft);
  for (const [name, reward] of Object.entries(rewards)) {
    runtime.seed(run.results.seed);
    const policy = loadPolicy(run.dirs.sft_mp!);
    const critic = ValueModel.fromTrunk(rp);
    const res = await trainPpo({ policy, ref: sft, critic }, prompts, reward, r);
    const last = res.history.at(-1)!;
    report(`PPO on ${name}`, policy);
    console.log(
      `${''.padEnd(14)} last update: objective/scores ${last['objective/scores']!.toFixed(3)}, objective/kl ${last['objective/kl']!.toFixed(3)}`,
    );
    policy.dispose();
    critic.dispose();
  }
  sft.dispose();
  rp.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
