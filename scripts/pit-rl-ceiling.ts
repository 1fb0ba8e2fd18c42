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
 * `"rpitFile": path` in the overrides replaces the cached R_PIT by a saved one.
 * `"oracleNoise": σ` in the overrides adds fixed noise to the judge's gap (a noisy oracle; see
 * `pit-rl-common.ts`): how accurate a gap reward must be for PIT RL to pay. Before training, the
 * script prints how often R_PIT and the oracle rank M_PIT^SFT's validation edits the judge's way.
 * `rewards` is 'both' (default), 'oracle' or 'rpit': one run alone halves the time.
 *
 * The curriculum ablation on distinct models: `"curricula": [[0], [1], [0, 1]]` in the overrides
 * trains one policy per curriculum (for each reward), all from M_PIT^SFT and with no selection, and
 * compares the last curriculum's policy with each other one on the same y_0. The pipeline's own
 * ablation (`exp_curriculum`) compares the selected policies, which are M_PIT^SFT's weights
 * whenever no check clears the margin.
 */
import { judge } from '../src/data/synth/judge';
import { clusteredEditAgreement, compare, meanWithCi } from '../src/eval';
import { notebookSettings, resolvePipelineConfig } from '../src/index';
import { type Gpt, loadRewardModel, type RewardModel } from '../src/models';
import { gapReward, improveOnce, respond, scoreGap } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { policyPrompt } from '../src/train/batches';
import { meanOf } from '../src/train/loop';
import { type GapRewardFn, trainPitRl } from '../src/train/pit_rl';
import { ValueModel } from '../src/train/ppo';
import { cachedStages, configOverrides } from './cached-stages';
import { deltaText, oracleGap, rewardTrend } from './pit-rl-common';

type PpoSettings = Omit<
  ReturnType<typeof resolvePipelineConfig>['pitRl'],
  'rounds' | 'validationSize' | 'validationDraws'
>;

/** The command line: updates per round, rollout T, lr, β, PPO overrides (JSON), rewards. */
function parseArgs(ppo: PpoSettings, rounds: number[]) {
  const updates = Number(process.argv[2] ?? ppo.totalUpdates);
  const rolloutT = Number(process.argv[3] ?? ppo.temperature);
  const lr = Number(process.argv[4] ?? ppo.lr);
  const klCoef = Number(process.argv[5] ?? ppo.klCoef);
  // `rounds` in the overrides replaces the curriculum (e.g. [1]: round 1 alone); `curricula`
  // lists several, each trained and compared with the last.
  // `oracleNoise` σ makes the oracle a noisy one (see `oracleGap`).
  const {
    rounds: curriculum = rounds,
    curricula = [curriculum],
    oracleNoise = 0,
    rpitFile,
    ...overrides
  } = JSON.parse(process.argv[6] ?? '{}') as Partial<PpoSettings> & {
    rounds?: number[];
    curricula?: number[][];
    oracleNoise?: number;
    rpitFile?: string;
  };
  const which = process.argv[7] ?? 'both';
  if (!['both', 'oracle', 'rpit'].includes(which))
    throw new Error(`rewards: expected 'both', 'oracle' or 'rpit', got '${which}'`);
  if (!Array.isArray(curricula) || curricula.length === 0 || !curricula.every(Array.isArray))
    throw new Error(`curricula: expected a list of round lists, got ${JSON.stringify(curricula)}`);
  if (!(oracleNoise >= 0)) throw new Error(`oracleNoise: expected σ ≥ 0, got ${oracleNoise}`);
  return { updates, rolloutT, lr, klCoef, curricula, oracleNoise, rpitFile, overrides, which };
}

interface Arm {
  seed: number;
  sftDir: string;
  sft: Gpt;
  sampler: Gpt;
  rpit: RewardModel;
  data: Parameters<typeof trainPitRl>[1];
  ppo: PpoSettings;
  args: ReturnType<typeof parseArgs>;
  improve: { responseTemperature: number; maxNewTokens: number };
}

/** PIT RL from M_PIT^SFT over one curriculum, keeping the last policy (no selection). */
async function trainArm(arm: Arm, reward: GapRewardFn, curriculum: number[]) {
  const { args, rpit } = arm;
  runtime.seed(arm.seed);
  const policy = loadPolicy(arm.sftDir);
  const { trunk, headWeight, headBias } = rpit;
  const critic = ValueModel.fromTrunk({ trunk, headWeight, headBias, offset: 0 });
  const trained = await trainPitRl(
    { policy, ref: arm.sft, critic, sampler: arm.sampler },
    arm.data,
    reward,
    {
      rounds: curriculum.map((r) => ({
        reference: r === 0 ? 'data' : 'policy',
        updates: args.updates,
      })),
      ppo: {
        ...arm.ppo,
        ...args.overrides,
        lr: args.lr,
        klCoef: args.klCoef,
        temperature: args.rolloutT,
        totalUpdates: undefined,
        validateEvery: 0,
      },
      referenceTemperature: arm.improve.responseTemperature,
      referenceLength: arm.improve.maxNewTokens,
    },
  );
  critic.dispose();
  const summary = trained
    .map((r, i) => `round ${curriculum[i]}: ${rewardTrend(r.history)}`)
    .join('; ');
  return { policy, summary };
}

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
  const args = parseArgs(ppo, rounds);
  const { temperature: improveT, responseTemperature, maxNewTokens, samples } = config.improve;
  const tok = readTokenizer(dirs.tokenizer!);
  const splits = readSplits(dirs.tokenizer!);
  // `rpitFile` swaps in another gap model (e.g. one `reward-budget.ts` trained) for the stage's
  const rpit = args.rpitFile ? loadRewardModel(args.rpitFile) : loadReward(dirs.rm_rpit!);
  const sampler = loadPolicy(dirs.rl_mp!);
  const sft = loadPolicy(dirs.sft_pit!);
  const v = splits.valid;
  const oracle = oracleGap(rpit, tok, v, args.oracleNoise);
  const rewards: Record<string, GapRewardFn> = {
    'R_PIT gap': gapReward(rpit, tok),
    [args.oracleNoise ? `oracle gap, σ ${args.oracleNoise}` : 'oracle gap']: oracle.reward,
  };
  console.log(
    `${profile} profile, seed ${seed}: rounds ${args.curricula.map((c) => `[${c}]`).join(', ')} × ${args.updates} updates, lr ${args.lr}, β ${args.klCoef}, rollouts at T=${args.rolloutT}, ${JSON.stringify({ ...ppo, ...args.overrides })}; improver judged at T=${improveT} on ${v.length} validation prompts × ${samples} draws of y_0; oracle = ${oracle.scale.toFixed(2)} × judge gap`,
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
  const versus = (a: number[], b: number[], label: string) =>
    deltaText(compare(a, b, { groups, rng: runtime.rng(label) }));
  const report = (label: string, improver: Gpt) => {
    const y1 = improveOnce(improver, tok, xs, y0, {
      temperature: improveT,
      maxNewTokens,
      rng: runtime.rng('ceiling.y1'),
    });
    const q1 = xs.map((x, i) => judge(x, y1[i]!).score);
    const m = meanWithCi(q1, { groups, rng: runtime.rng(`ceiling.mean.${label}`) });
    console.log(
      `${label.padEnd(22)} judge ${m.mean.toFixed(3)} [${m.ci95[0].toFixed(3)}, ${m.ci95[1].toFixed(3)}]  vs y_0 (${meanOf(q0).toFixed(3)}): ${versus(q1, q0, `ceiling.cmp.${label}`)}`,
    );
    return { q1, y1 };
  };

  const { q1: base, y1: sftEdits } = report('M_PIT^SFT', sft);
  // How often each reward ranks M_PIT^SFT's edits the judge's way (where the judge's score moved).
  const agreement = (gain: number[], label: string) => {
    const a = clusteredEditAgreement(q0, base, gain, { groups, label: `ceiling.agree.${label}` });
    return `${label} ${a.accuracy.toFixed(3)} [${a.ci95?.map((c) => c.toFixed(3)).join(', ')}]`;
  };
  const rpitGain = Array.from(scoreGap(rpit, tok, xs, sftEdits, y0));
  const oracleGain = xs.map((x, i) => oracle.gap(x, sftEdits[i]!, y0[i]!));
  console.log(
    `agreement with the judge on M_PIT^SFT's edits: ${agreement(rpitGain, 'R_PIT')}, ${agreement(oracleGain, 'oracle')}`,
  );
  const data = splits.train.map((e) => ({
    prompt: policyPrompt(tok, e.prompt).slice(0, -1),
    rejected: tok.encode(e.rejected),
  }));
  const improve = { responseTemperature, maxNewTokens };
  const arm: Arm = { seed, sftDir: dirs.sft_pit!, sft, sampler, rpit, data, ppo, args, improve };
  const chosen = Object.entries(rewards).filter(
    ([name]) =>
      args.which === 'both' || name.startsWith(args.which === 'oracle' ? 'oracle' : 'R_PIT'),
  );
  for (const [name, reward] of chosen) {
    const scores: number[][] = [];
    for (const curriculum of args.curricula) {
      const started = performance.now();
      const { policy, summary } = await trainArm(arm, reward, curriculum);
      const label = args.curricula.length > 1 ? `${name}, rounds ${curriculum.join('+')}` : name;
      const { q1 } = report(`PIT RL on ${label}`, policy);
      scores.push(q1);
      console.log(
        `${''.padEnd(22)} vs M_PIT^SFT ${versus(q1, base, `ceiling.vs-sft.${name}`)}; first → last update ${summary}; ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
      policy.dispose();
    }
    // The ablation: the last curriculum (the full one) against each other, on the same y_0.
    const last = args.curricula.length - 1;
    for (let i = 0; i < last; i++) {
      const [a, b] = [args.curricula[last]!.join('+'), args.curricula[i]!.join('+')];
      console.log(
        `${name}: rounds ${a} vs rounds ${b}: ${versus(scores[last]!, scores[i]!, `ceiling.ablation.${name}.${i}`)}`,
      );
    }
  }
  for (const m of [rpit, sampler, sft]) m.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
