/**
 * The RL stages: RLHF of M_P against R_P (`rl_mp`) and PIT RL of M_PIT against the gap reward
 * R_PIT over the curriculum (`pit_rl`; `pit_rl_r0`/`pit_rl_r1` are the one-round ablations).
 */
import path from 'node:path';
import { judge as exactJudge, type Tokenizer } from '../../data';
import { clusteredEditAgreement, clusterRows, type EditAgreement } from '../../eval';
import { type Gpt, saveGpt } from '../../models';
import type { RewardModel } from '../../models/reward';
import { runtime } from '../../runtime';
import { policyPrompt } from '../../train/batches';
import { meanOf } from '../../train/loop';
import { trainPitRl } from '../../train/pit_rl';
import { trainPpo, ValueModel } from '../../train/ppo';
import type { Pair } from '../../train/reward';
import { evaluationPairs, evaluationRows } from '../experiments';
import { gapReward, improveOnce, respond, rpReward, scoreGap, scoreRp } from '../generate';
import { FILES, keepMetrics, loadPolicy, loadReward, writeJson } from './artifacts';
import {
  type Ctx,
  estimatedSeconds,
  type PipelineStage,
  progressHooks,
  readTokenized,
} from './common';

/**
 * PPO's three models from one SFT artifact and one reward model: the policy, its frozen copy as
 * the KL reference, and a critic on the reward model's trunk and head, starting on the scale of
 * the reward PPO receives (`offset`: what that reward subtracts from the head's raw score).
 */
function ppoModels(sftDir: string, reward: RewardModel, offset = reward.offset) {
  const { trunk, headWeight, headBias } = reward;
  return {
    policy: loadPolicy(sftDir),
    ref: loadPolicy(sftDir),
    critic: ValueModel.fromTrunk({ trunk, headWeight, headBias, offset }),
  };
}

const rlhfStage: PipelineStage = {
  name: 'rl_mp',
  deps: { tok: 'tokenizer', sft: 'sft_mp', rm: 'rm_rp' },
  config: (c) => [c.rlhf],
  cost: ({ rlhf }) => estimatedSeconds('rl_mp', rlhf.totalUpdates * rlhf.batchSize),
  artifacts: [FILES.policy],
  async run(ctx) {
    runtime.seed(ctx.seed);
    const { splits, tok } = readTokenized(ctx.inputs.tok!);
    const rm = loadReward(ctx.inputs.rm!);
    const { policy, ref, critic } = ppoModels(ctx.inputs.sft!, rm);
    const prompts = splits.train.map((p) => policyPrompt(tok, p.prompt));
    await trainPpo({ policy, ref, critic }, prompts, rpReward(rm, tok), ctx.config.rlhf, {
      dir: ctx.workDir,
      stage: 'rl_mp',
      decode: (ids) => tok.decode(ids),
      ...progressHooks(ctx),
    });
    keepMetrics(ctx.workDir, ctx.outDir);
    saveGpt(path.join(ctx.outDir, FILES.policy), policy);
    for (const m of [policy, ref, rm, critic]) m.dispose();
  },
};

/** What `pit_rl` (and its ablations) record beside the model: each round's held-out selection. */
export interface PitRlSummary {
  rounds: Array<{
    /** 0: y_ref = y_l; 1: y_ref ~ M_P^RL. */
    round: number;
    /** PPO updates run (fewer than configured when patience ended the round). */
    updates: number;
    /** The update whose policy the round kept (0 = the policy it started from). */
    keptUpdate?: number;
    /** The kept policy's mean held-out score. */
    heldoutScore?: number;
    stoppedEarly?: boolean;
  }>;
  /** The kept improver's edits of M_P^RL's validation responses, as the rewards see them. */
  validationAgreement?: ValidationAgreement;
}

/** How often each reward ranks the improver's edits the exact judge's way (edits it changed). */
export interface ValidationAgreement {
  judge: string;
  /** Distinct validation prompts, each improved `draws` times. */
  prompts: number;
  draws: number;
  rpit: EditAgreement;
  rp: EditAgreement;
}

/** PIT RL over `rounds` (default: the config's curriculum). */
function pitRlStage(name: string, rounds: number[] | undefined): PipelineStage {
  return {
    name,
    deps: { tok: 'tokenizer', sft: 'sft_pit', rpit: 'rm_rpit', sampler: 'rl_mp', rp: 'rm_rp' },
    config: (c) => {
      const { rounds: configured, ...rest } = c.pitRl; // the ablations fix their own rounds
      // The held-out check samples y_0 and the improver as the evaluation does.
      const { temperature, responseTemperature, maxNewTokens } = c.improve;
      return [
        rounds ? rest : { ...rest, rounds: configured },
        [temperature, responseTemperature, maxNewTokens],
      ];
    },
    cost: ({ pitRl: p }) =>
      estimatedSeconds('pit_rl', (rounds ?? p.rounds).length * p.totalUpdates * p.batchSize),
    artifacts: [FILES.policy, FILES.summary],
    async run(ctx) {
      runtime.seed(ctx.seed);
      const { splits, tok } = readTokenized(ctx.inputs.tok!);
      const rpit = loadReward(ctx.inputs.rpit!);
      // The gap PPO receives is antisymmetrised, so R_PIT's offset cancels in it: the critic's is 0.
      const { policy, ref, critic } = ppoModels(ctx.inputs.sft!, rpit, 0);
      const sampler = loadPolicy(ctx.inputs.sampler!);
      const rp = loadReward(ctx.inputs.rp!);
      const {
        rounds: configured,
        validationSize: _v,
        validationDraws: _d,
        ...ppo
      } = ctx.config.pitRl;
      const curriculumRounds = rounds ?? configured;
      const updates = ppo.totalUpdates;
      const curriculum = curriculumRounds.map((r) => ({
        reference: r === 0 ? ('data' as const) : ('policy' as const),
        updates,
      }));
      const data = splits.train.map((e) => ({
        prompt: policyPrompt(tok, e.prompt).slice(0, -1), // <bos> x; pitQuery adds <sep_ref> y_ref <sep>
        rejected: tok.encode(e.rejected),
      }));
      const validation = validationEdits(policy, sampler, tok, splits.valid, ctx);
      const trained = await trainPitRl(
        { policy, ref, critic, sampler },
        data,
        gapReward(rpit, tok),
        {
          rounds: curriculum,
          ppo: { ...ppo, totalUpdates: undefined },
          // Round-1 references are drawn as the evaluation draws y_0 from M_P^RL.
          referenceTemperature: ctx.config.improve.responseTemperature,
          referenceLength: ctx.config.improve.maxNewTokens,
        },
        {
          dir: ctx.workDir,
          decode: (ids) => tok.decode(ids),
          validate: validation.check(rp),
          ...(splits.synthetic ? { heldOutExtras: validation.judgeOfLastCheck } : {}),
          ...progressHooks(ctx),
        },
      );
      keepMetrics(ctx.workDir, ctx.outDir);
      saveGpt(path.join(ctx.outDir, FILES.policy), policy);
      writeJson(ctx.outDir, FILES.summary, {
        rounds: trained.map((r, i) => ({
          round: curriculumRounds[i]!,
          updates: r.updates,
          keptUpdate: r.best?.update,
          heldoutScore: r.best?.score,
          stoppedEarly: r.stoppedEarly,
        })),
        ...(splits.synthetic ? { validationAgreement: validation.agreement(rp, rpit) } : {}),
      } satisfies PitRlSummary);
      for (const m of [policy, ref, sampler, rpit, rp, critic]) m.dispose();
    },
  };
}

/**
 * PIT RL's held-out check: the improver, applied once at the inference temperature to M_P^RL's
 * responses (sampled as the evaluation samples y_0: `validationDraws` of each of the first
 * `validationSize` distinct validation prompts), scored by R_P's improvement
 * R_P(x, y') − R_P(x, y_0) averaged over each prompt's draws. One score per prompt makes the
 * trainer's paired standard error a cluster standard error: draws of one prompt are not
 * independent evidence. R_P is not the reward being optimised (R_PIT is), so a policy that games
 * R_PIT does not score here by construction. The y_0 are sampled once; each check re-seeds its
 * sampler, so equal weights give equal scores (and a resumed run selects as an uninterrupted one).
 *
 * `agreement` measures, on the same validation edits, how often R_PIT and R_P rank the kept
 * improver's edit the exact judge's way (synthetic task only), with a cluster bootstrap over
 * prompts: whether the rewards can see what the improver changes, without reading the test split.
 */
function validationEdits(
  improver: Gpt,
  sampler: Gpt,
  tok: Tokenizer,
  pairs: readonly Pair[],
  ctx: Ctx,
) {
  const { temperature, responseTemperature, maxNewTokens } = ctx.config.improve;
  const { validationSize, validationDraws } = ctx.config.pitRl;
  const prompts = evaluationPairs(pairs, validationSize).map((p) => p.prompt);
  const { xs, groups } = evaluationRows(prompts, validationDraws);
  const clusters = clusterRows(groups, xs.length, 'pit_rl held-out check');
  const y0 = respond(sampler, tok, xs, {
    temperature: responseTemperature,
    maxNewTokens,
    rng: runtime.rng('pit_rl.validate.y0'),
  });
  const improve = (label: string) =>
    improveOnce(improver, tok, xs, y0, { temperature, maxNewTokens, rng: runtime.rng(label) });
  const judged = (ys: string[]) => xs.map((x, i) => exactJudge(x, ys[i]!).score);
  let lastChecked: string[] = [];
  return {
    check(rp: RewardModel): () => Float32Array {
      const base = scoreRp(rp, tok, xs, y0);
      return () => {
        lastChecked = improve('pit_rl.validate.y1');
        const after = scoreRp(rp, tok, xs, lastChecked);
        const gain = after.map((v, i) => v - base[i]!);
        // one score per prompt: the mean of its draws (prompts in order, as evaluationRows labels them)
        return Float32Array.from(clusters, (rows) => meanOf(Array.from(rows, (i) => gain[i]!)));
      };
    },
    /** The exact judge's mean on the edits the last check scored (synthetic task only). */
    judgeOfLastCheck: (): { 'heldout/judge': number } => ({
      'heldout/judge': meanOf(judged(lastChecked)),
    }),
    agreement(rp: RewardModel, rpit: RewardModel): ValidationAgreement {
      const y1 = improve('pit_rl.agreement.y1');
      const [before, after] = [judged(y0), judged(y1)];
      const rpBefore = scoreRp(rp, tok, xs, y0);
      const rpGain = scoreRp(rp, tok, xs, y1).map((v, i) => v - rpBefore[i]!);
      const boot = (label: string) => ({
        groups,
        resamples: ctx.config.improve.bootstrap,
        rng: runtime.rng(`pit_rl.agreement.${label}`),
      });
      return {
        judge: 'oracle',
        prompts: prompts.length,
        draws: validationDraws,
        rpit: clusteredEditAgreement(before, after, scoreGap(rpit, tok, xs, y1, y0), boot('rpit')),
        rp: clusteredEditAgreement(before, after, rpGain, boot('rp')),
      };
    },
  };
}

export const rlStages: PipelineStage[] = [
  rlhfStage,
  pitRlStage('pit_rl', undefined),
  pitRlStage('pit_rl_r0', [0]),
  pitRlStage('pit_rl_r1', [1]),
];
