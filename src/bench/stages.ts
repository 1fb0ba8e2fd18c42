/**
 * Training throughput of each pipeline stage, measured by running the stage's own trainer for a
 * few steps on the bundled synthetic task at the default profile's model and batch sizes. Rows
 * are units of work per second (tokens, pairs or episodes), with the wall-clock per step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadSynthetic, WordTokenizer } from '../data';
import { copyTrunk, Gpt, RewardModel } from '../models';
import { profileConfig } from '../pit/config';
import { decodeResponse, scoreGap, scoreRp } from '../pit/generate';
import { runtime } from '../runtime';
import { policyPrompt } from '../train/batches';
import { trainPitRl } from '../train/pit_rl';
import { trainPpo, ValueModel } from '../train/ppo';
import { type Pair, trainReward } from '../train/reward';
import { sftExamples, trainSft } from '../train/sft';
import { type ReplayWorkload, rewardReplay, StepRecorder, sftReplay, writeReplay } from './replay';
import type { BenchRow } from './workloads';

/**
 * The PyTorch baseline of the token-rate rows: an LM train step of the same model on [32, 32]
 * token batches (the stages' padded batches are about that size), run in the same invocation.
 */
export const STAGE_BASELINE = { batch: 32, tokens: 32 };

/**
 * The stage rows; with `replayFile`, also writes the SFT and reward trainers' batches there for
 * their PyTorch baselines (`replay.ts`).
 */
export async function stageBench(quick: boolean, replayFile?: string): Promise<BenchRow[]> {
  const profile = profileConfig('default');
  const tok = WordTokenizer.synthetic();
  const model = { ...profile.model, vocabSize: tok.vocabSize };
  const pairs: Pair[] = (await loadSynthetic('train')).toRecords();
  const dir = mkdtempSync(path.join(tmpdir(), 'pitlab-stage-bench-'));
  const steps = quick ? 3 : 12;
  const updates = quick ? 1 : 3;
  const B = profile.sft.batchSize;
  const rows: BenchRow[] = [];
  const row = (
    workload: string,
    work: number,
    unit: string,
    seconds: number,
    n: number,
    note: string,
  ) =>
    rows.push({
      workload: `stage: ${workload}`,
      backend: runtime.backend,
      throughput: work / seconds,
      unit,
      ms: (1000 * seconds) / n,
      note,
    });
  const before = tf.memory().numTensors;
  try {
    runtime.seed(0);
    const policy = new Gpt(model, undefined, 'bench.sft');
    // every step logged: the PyTorch replay checks its step-1 loss against the trainer's
    const base = { maxSteps: steps, batchSize: B, lr: 1e-3, logEvery: 1, evalEvery: 0 };
    // Two unmeasured steps first: the backend's first calls of each kernel are slower.
    const warm = new Gpt(model, undefined, 'bench.warmup');
    await trainSft(
      { policy: warm },
      { train: sftExamples(tok, pairs, 'mpit') },
      { ...base, maxSteps: 2, logEvery: 2, outDir: path.join(dir, 'warmup'), checkpointEvery: 200 },
    );
    warm.dispose();
    const replays: ReplayWorkload[] = [];
    const sftSteps = new StepRecorder(policy.params);
    const sft = await trainSft(
      { policy },
      { train: sftExamples(tok, pairs, 'mpit') },
      { ...base, outDir: path.join(dir, 'sft'), checkpointEvery: steps * 100 },
      replayFile ? sftSteps.hooks : {},
    );
    const sftTokens = Number(sft.lastTrain?.num_tokens ?? 0);
    const sftLabel = 'sft (M_PIT layout)';
    row(sftLabel, sftTokens, 'tokens/s', sft.seconds, steps, `B=${B}, ${steps} steps`);
    if (replayFile) replays.push(sftReplay(`stage: ${sftLabel}`, base.lr, sftSteps));

    for (const [kind, label] of [
      ['rp', 'rm_rp (2 sequences/pair)'],
      ['rpit', 'rm_rpit (4 pairings/pair)'],
    ] as const) {
      const rm = new RewardModel(kind, copyTrunk(policy), { pooling: profile.reward.pooling });
      const recorded = new StepRecorder(rm.params());
      const r = await trainReward(
        { reward: rm },
        { tokenizer: tok, train: pairs },
        {
          ...base,
          outDir: path.join(dir, kind),
          checkpointEvery: steps * 100,
          loss: kind === 'rp' ? 'rp-difference' : 'five-constraints',
          normalise: false,
        },
        replayFile ? recorded.hooks : {},
      );
      const tokens = Number(r.lastTrain?.num_tokens ?? 0);
      const pairsPerS = ((steps * B) / r.seconds).toFixed(1);
      row(label, tokens, 'tokens/s', r.seconds, steps, `${pairsPerS} pairs/s, B=${B} pairs`);
      if (replayFile) replays.push(rewardReplay(`stage: ${label}`, base.lr, rm, recorded));
      rm.dispose();
    }

    if (replayFile) writeReplay(replayFile, policy.config, replays);

    // PPO: rollout (KV-cache sampling), reward, forward passes and 2×2 minibatch updates.
    const ppo = { batchSize: profile.rlhf.batchSize, lr: 1e-5, nMinibatches: 2, ppoEpochs: 2 };
    const rp = new RewardModel('rp', copyTrunk(policy), { pooling: profile.reward.pooling });
    const query = (ids: number[]) => tok.decode(ids);
    const text = (ids: number[]) => decodeResponse(tok, ids);
    const prompts = pairs.slice(0, 256).map((p) => policyPrompt(tok, p.prompt));
    const ref = new Gpt(model, undefined, 'bench.sft');
    let critic = ValueModel.fromTrunk(rp);
    let t0 = performance.now();
    await trainPpo(
      { policy, ref, critic },
      prompts,
      (q, y) => scoreRp(rp, tok, q.map(query), y.map(text)),
      { ...ppo, totalUpdates: updates },
    );
    let s = (performance.now() - t0) / 1000;
    row(
      'rl_mp (PPO)',
      updates * ppo.batchSize,
      'episodes/s',
      s,
      updates,
      `${ppo.batchSize} prompts/update`,
    );
    critic.dispose();

    const rpit = new RewardModel('rpit', copyTrunk(policy), { pooling: profile.reward.pooling });
    critic = ValueModel.fromTrunk(rpit);
    const data = pairs.slice(0, 256).map((p) => ({
      prompt: policyPrompt(tok, p.prompt).slice(0, -1),
      rejected: tok.encode(p.rejected),
    }));
    t0 = performance.now();
    await trainPitRl(
      { policy, ref, critic, sampler: ref },
      data,
      (x, y, r) => scoreGap(rpit, tok, x.map(query), y.map(text), r.map(text)),
      { rounds: [{ reference: 'policy', updates }], ppo },
    );
    s = (performance.now() - t0) / 1000;
    row(
      'pit_rl (round 1)',
      updates * ppo.batchSize,
      'episodes/s',
      s,
      updates,
      'y_ref sampled from M_P^RL',
    );
    for (const m of [policy, ref, rp, rpit, critic]) m.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const leaked = tf.memory().numTensors - before;
  for (const r of rows) r.note = `${r.note}; default-profile model; tensors leaked: ${leaked}`;
  return rows;
}
