/**
 * Training throughput of each pipeline stage, measured by running the stage's own trainer for a
 * few steps on the bundled synthetic task at the default profile's model and batch sizes. Rows
 * are units of work per second (tokens, pairs or episodes), with the wall-clock per step. The
 * token-rate rows also get a matmul floor: their matmul kernels' own time in a profiled run.
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
import type { StageOutcome } from '../train/driver';
import { trainPitRl } from '../train/pit_rl';
import { trainPpo, ValueModel } from '../train/ppo';
import { type Pair, trainReward } from '../train/reward';
import { sftExamples, trainSft } from '../train/sft';
import { matmulShare } from './profile';
import { type ReplayWorkload, rewardReplay, StepRecorder, sftReplay, writeReplay } from './replay';
import type { BenchRow } from './workloads';

/**
 * The PyTorch baseline of the token-rate rows: an LM train step of the same model on [32, 32]
 * token batches (the stages' padded batches are about that size), run in the same invocation.
 */
export const STAGE_BASELINE = { batch: 32, tokens: 32 };

/** What every stage row shares: the default profile's model, the synthetic pairs, a scratch dir. */
interface StageContext {
  profile: ReturnType<typeof profileConfig>;
  tok: WordTokenizer;
  model: ReturnType<typeof profileConfig>['model'];
  pairs: Pair[];
  dir: string;
  steps: number;
  updates: number;
  /** Every step logged: the PyTorch replay checks its step-1 loss against the trainer's. */
  base: { maxSteps: number; batchSize: number; lr: number; logEvery: number; evalEvery: number };
}

/** Steps of each profiled run behind a matmul floor row. */
const FLOOR_STEPS = 3;

function stageRow(
  workload: string,
  work: number,
  unit: string,
  seconds: number,
  n: number,
  note: string,
): BenchRow {
  return {
    workload: `stage: ${workload}`,
    backend: runtime.backend,
    throughput: work / seconds,
    unit,
    ms: (1000 * seconds) / n,
    note,
  };
}

/**
 * A trainer's matmul floor: a `FLOOR_STEPS`-step run under `tf.profile`, as the token rate it
 * would reach if only its matmul kernels took time.
 */
async function floorRow(label: string, run: () => Promise<StageOutcome>): Promise<BenchRow> {
  let outcome: StageOutcome | undefined;
  const info = await tf.profile(async () => {
    outcome = await run();
    return [];
  });
  const { mm, n, total } = matmulShare(info.kernels);
  const tokens = Number(outcome?.lastTrain?.num_tokens ?? 0);
  const share = `${n} matmul kernels take ${mm.toFixed(0)} of ${total.toFixed(0)} ms of kernel time`;
  return stageRow(`${label}: matmul floor`, tokens, 'tokens/s', mm / 1000, FLOOR_STEPS, share);
}

/** M_PIT's SFT trainer: its rate, its matmul floor, and its batches for the replay. */
async function sftRows(ctx: StageContext, policy: Gpt, replays: ReplayWorkload[], replay: boolean) {
  const { tok, pairs, dir, base, steps } = ctx;
  const train = { train: sftExamples(tok, pairs, 'mpit') };
  const config = (sub: string, maxSteps: number) => ({
    ...base,
    maxSteps,
    outDir: path.join(dir, sub),
    checkpointEvery: maxSteps * 100,
  });
  const label = 'sft (M_PIT layout)';
  const recorder = replay ? new StepRecorder(policy.params) : undefined;
  const sft = await trainSft({ policy }, train, config('sft', steps), recorder?.hooks ?? {});
  if (recorder) replays.push(sftReplay(`stage: ${label}`, base.lr, recorder));
  const tokens = Number(sft.lastTrain?.num_tokens ?? 0);
  const timed = stageRow(
    label,
    tokens,
    'tokens/s',
    sft.seconds,
    steps,
    `B=${base.batchSize}, ${steps} steps`,
  );
  const floorModel = new Gpt(ctx.model, undefined, 'bench.floor');
  const floor = await floorRow(label, () =>
    trainSft({ policy: floorModel }, train, config('sft-floor', FLOOR_STEPS)),
  );
  floorModel.dispose();
  return [timed, floor];
}

/** A reward model's trainer started from `policy`: its rate, matmul floor and replay batches. */
async function rewardRows(
  ctx: StageContext,
  policy: Gpt,
  kind: 'rp' | 'rpit',
  replays: ReplayWorkload[],
  replay: boolean,
) {
  const { tok, pairs, dir, base, steps, profile } = ctx;
  const label = kind === 'rp' ? 'rm_rp (2 sequences/pair)' : 'rm_rpit (4 pairings/pair)';
  const fresh = () => new RewardModel(kind, copyTrunk(policy), { pooling: profile.reward.pooling });
  const train = (rm: RewardModel, sub: string, maxSteps: number, recorder?: StepRecorder) =>
    trainReward(
      { reward: rm },
      { tokenizer: tok, train: pairs },
      {
        ...base,
        maxSteps,
        outDir: path.join(dir, sub),
        checkpointEvery: maxSteps * 100,
        loss: kind === 'rp' ? 'rp-difference' : 'five-constraints',
        normalise: false,
      },
      recorder?.hooks ?? {},
    );
  const rm = fresh();
  const recorder = replay ? new StepRecorder(rm.params()) : undefined;
  const r = await train(rm, kind, steps, recorder);
  if (recorder) replays.push(rewardReplay(`stage: ${label}`, base.lr, rm, recorder));
  rm.dispose();
  const tokens = Number(r.lastTrain?.num_tokens ?? 0);
  const pairsPerS = ((steps * base.batchSize) / r.seconds).toFixed(1);
  const note = `${pairsPerS} pairs/s, B=${base.batchSize} pairs`;
  const timed = stageRow(label, tokens, 'tokens/s', r.seconds, steps, note);
  const floorModel = fresh();
  const floor = await floorRow(label, () => train(floorModel, `${kind}-floor`, FLOOR_STEPS));
  floorModel.dispose();
  return [timed, floor];
}

/** PPO (rollout, reward, forward passes, 2×2 minibatch updates) and PIT RL's round 1. */
async function rlRows(ctx: StageContext, policy: Gpt): Promise<BenchRow[]> {
  const { tok, pairs, profile, model, updates } = ctx;
  const ppo = { batchSize: profile.rlhf.batchSize, lr: 1e-5, nMinibatches: 2, ppoEpochs: 2 };
  const rp = new RewardModel('rp', copyTrunk(policy), { pooling: profile.reward.pooling });
  const query = (ids: number[]) => tok.decode(ids);
  const text = (ids: number[]) => decodeResponse(tok, ids);
  const prompts = pairs.slice(0, 256).map((p) => policyPrompt(tok, p.prompt));
  const ref = new Gpt(model, undefined, 'bench.sft');
  const rows: BenchRow[] = [];
  const episodes = updates * ppo.batchSize;
  let critic = ValueModel.fromTrunk(rp);
  let t0 = performance.now();
  await trainPpo(
    { policy, ref, critic },
    prompts,
    (q, y) => scoreRp(rp, tok, q.map(query), y.map(text)),
    { ...ppo, totalUpdates: updates },
  );
  let s = (performance.now() - t0) / 1000;
  rows.push(
    stageRow('rl_mp (PPO)', episodes, 'episodes/s', s, updates, `${ppo.batchSize} prompts/update`),
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
  rows.push(
    stageRow('pit_rl (round 1)', episodes, 'episodes/s', s, updates, 'y_ref sampled from M_P^RL'),
  );
  for (const m of [ref, rp, rpit, critic]) m.dispose();
  return rows;
}

/**
 * The stage rows; with `replayFile`, also writes the SFT and reward trainers' batches there for
 * their PyTorch baselines (`replay.ts`).
 */
export async function stageBench(quick: boolean, replayFile?: string): Promise<BenchRow[]> {
  const profile = profileConfig('default');
  const tok = WordTokenizer.synthetic();
  const steps = quick ? 3 : 12;
  const ctx: StageContext = {
    profile,
    tok,
    model: { ...profile.model, vocabSize: tok.vocabSize },
    pairs: (await loadSynthetic('train')).toRecords(),
    dir: mkdtempSync(path.join(tmpdir(), 'pitlab-stage-bench-')),
    steps,
    updates: quick ? 1 : 3,
    base: {
      maxSteps: steps,
      batchSize: profile.sft.batchSize,
      lr: 1e-3,
      logEvery: 1,
      evalEvery: 0,
    },
  };
  const rows: BenchRow[] = [];
  const before = tf.memory().numTensors;
  try {
    runtime.seed(0);
    const policy = new Gpt(ctx.model, undefined, 'bench.sft');
    // Two unmeasured steps first: the backend's first calls of each kernel are slower.
    const warm = new Gpt(ctx.model, undefined, 'bench.warmup');
    await trainSft(
      { policy: warm },
      { train: sftExamples(tok, ctx.pairs, 'mpit') },
      { ...ctx.base, maxSteps: 2, outDir: path.join(ctx.dir, 'warmup'), checkpointEvery: 200 },
    );
    warm.dispose();
    const replays: ReplayWorkload[] = [];
    const replay = replayFile !== undefined;
    rows.push(...(await sftRows(ctx, policy, replays, replay)));
    for (const kind of ['rp', 'rpit'] as const) {
      rows.push(...(await rewardRows(ctx, policy, kind, replays, replay)));
    }
    if (replayFile) writeReplay(replayFile, policy.config, replays);
    rows.push(...(await rlRows(ctx, policy)));
    policy.dispose();
  } finally {
    rmSync(ctx.dir, { recursive: true, force: true });
  }
  const leaked = tf.memory().numTensors - before;
  for (const r of rows) r.note = `${r.note}; default-profile model; tensors leaked: ${leaked}`;
  return rows;
}
