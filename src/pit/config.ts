/**
 * The pipeline's configuration and its three profiles. Each stage reads one section; a section's
 * canonical JSON is part of that stage's cache key, so editing one section recomputes exactly that
 * stage and what depends on it. A training section is a partial config of its trainer (same field
 * names, same defaults for what it leaves out): `trainSettings` adds the pipeline's schedule to
 * an SFT or reward section, and a PPO section goes to `resolvePpoConfig` as it is.
 *
 * Sizes are our own (the paper gives no hyperparameters): `default` fits the whole pipeline in
 * about 12 minutes on a 2-core CPU (`pitlab run --jobs 2`), `smoke` in about a minute for CI, and
 * `full` is sized for a GPU.
 * `smoke` and `full` are overrides of `default`, merged as a user's `--config` is.
 */
import type { NearKinds } from '../data/synth/pairs';
import {
  DEFAULT_GPT_CONFIG,
  type GptConfig,
  REWARD_POOLINGS,
  type RewardPooling,
  resolveGptConfig,
} from '../models';
import { check, checkOneOf, checkPositiveInt, mergeConfig } from '../runtime/validate';
import type { BaseTrainConfig } from '../train/driver';
import { DEFAULT_PPO_CONFIG, type PpoConfig, resolvePpoConfig } from '../train/ppo/config';
import { DEFAULT_REWARD_CONFIG, type RewardConfig, resolveRewardConfig } from '../train/reward';
import { DEFAULT_SFT_CONFIG, resolveSftConfig, type SftConfig } from '../train/sft';

export type Profile = 'smoke' | 'default' | 'full';
export const PROFILES: readonly Profile[] = ['smoke', 'default', 'full'];

/**
 * A trainer's partial config in which every profile states the fields `K`; the fields `Owned`
 * are the pipeline's to set (see `TRAIN_OWNED`, `PPO_OWNED`), never the section's.
 */
export type Section<T, K extends keyof T, Owned extends keyof T = never> = Partial<Omit<T, Owned>> &
  Pick<T, K>;
type TrainOwned = (typeof TRAIN_OWNED)[number];
type PpoOwned = (typeof PPO_OWNED)[number];
type CheckKeys = (typeof CHECK_KEYS)[number];
type Steps = 'maxSteps' | 'batchSize' | 'lr';
type PpoStated =
  | 'totalUpdates'
  | 'batchSize'
  | 'lr'
  | 'klCoef'
  | 'temperature'
  | 'nMinibatches'
  | 'ppoEpochs';

export interface PipelineConfig {
  data: {
    /** `synthetic` (bundled) or a file loaded with `format`. */
    source: string;
    format?: string;
    /** Training pairs used at most (0 = all). */
    maxTrain: number;
    /**
     * Synthetic task only: generate this many training pairs (and half as many refine demos) with
     * the seeded generator instead of the committed 1,599; 0 uses the committed files. Valid and
     * test are always the committed files.
     */
    synthSize: number;
    /**
     * Synthetic task only: training pairs of the independent judge RM, drawn from the generator
     * with its own seed (no prompt shared with training or evaluation); 0 trains it on `valid`.
     */
    judgeSize: number;
    /**
     * Synthetic task only: share of the generated training pairs that are near pairs (a response
     * and the same one with one or two more violations; `makeNearPair`), so the reward models
     * see differences as small as an improver's edits. The judge RM's data stays independent.
     */
    nearShare: number;
    /** Which constraints near pairs differ in: `all`, or `relational` only (`RELATIONAL_KINDS`). */
    nearKinds: NearKinds;
    /**
     * Distinct test prompts evaluated, at most: the first this many distinct prompts of the test
     * split (the committed split holds 173 in its 202 rows).
     */
    evalSize: number;
  };
  /** Size of M_P, M_PIT, R_P and R_PIT. */
  model: Partial<GptConfig>;
  /** Size of the independent judge reward model (trained on held-out pairs, another seed). */
  judgeModel: Partial<GptConfig>;
  /**
   * SFT of M_P (x → y_w). The default profile's 2,400 steps (about 6 epochs of its 12,587 pairs,
   * eval loss 1.14 against 1.18 at 1,200) are sized for the models that start from M_P^SFT,
   * measured on validation prompts and pairs only (README, "M_P's SFT runs longer"): with 2,400,
   * 1,600 and 1,200 steps, R_P (100 steps) ranked 0.874, 0.854 and 0.844 of the validation pairs,
   * and M_PIT^SFT improved the same responses (8 draws of 199 prompts) to 0.750, 0.720 and 0.713.
   * `gradientThreads: 1` (the same numbers, the same cache key) makes it about 1.2–1.5× faster
   * on two cores, but holds both from the start, so the judge would train later; the runner
   * instead lends the stage the second core once nothing else can use it (`spareCores`).
   */
  sft: Section<SftConfig, Steps, TrainOwned & keyof SftConfig>;
  /**
   * SFT of the two improvers, M_PIT ((x, y_l) → y_w) and the Self-Refine model (generate,
   * critique, refine), both started from M_P^SFT, as the paper starts every model from one
   * pretrained LLM. They run beside the reward models, off the longest chain. Measured on the
   * default profile with a 1,200-step M_P^SFT (M_P^RL's responses to the validation prompts, judge mean 0.690): M_PIT^SFT
   * trained 1,200 steps from scratch rewrote them to 0.672, from M_P^SFT to 0.700; with 700
   * steps from scratch, PIT lost to the responses it rewrote (Δ −18.5%). The default's 2,400 steps
   * were chosen on the validation prompts (`scripts/sft-steps.ts ... sftImprover`): M_PIT^SFT
   * improved M_P^RL's responses (0.729) to 0.761, 0.790 and 0.792 after 1,200, 2,400 and 3,600
   * steps; 2,400 beat 1,200 by Δ +12.4% [8.7%, 16.0%], and 3,600 beat 2,400 by noise only.
   */
  sftImprover: Section<SftConfig, Steps, TrainOwned & keyof SftConfig>;
  /**
   * R_P, started from M_P^SFT; `pooling` is where the scalar head is read: 'eos', 'tokens', or
   * 'eos+loglik', the EOS head plus 2 × the trunk's own mean log-likelihood of the response (see
   * `models/reward.ts`). R_PIT inherits it. 'eos+loglik' is the default: M_P^SFT's log-likelihood
   * alone ranks the held-out pairs better than a trained EOS head, and training both together
   * ranks them best (measurements in the README). 100 steps: the best of 100–400 on the
   * validation pairs (0.874, 0.869, 0.869, 0.854; README, "Fewer reward steps").
   */
  reward: Section<RewardConfig, Steps, TrainOwned> & { pooling: RewardPooling };
  /**
   * R_PIT, started from R_P, sized on its own. With the 'eos' read-out, the choices we tried
   * landed within the noise of the held-out pairs (R_P 600 steps and R_PIT 300 at 5e-4: 0.754 and
   * 0.744 against 0.764 and 0.764 for 400 steps each at 1e-3). With 'eos+loglik' the rate is 3e-4,
   * as for R_P, where 1e-3 first unlearned the trunk's log-likelihood (held-out 0.70 at step 100).
   * 200 steps: the fewest within one standard error of the best swap accuracy on the validation
   * pairs (0.839, 0.859, 0.864, 0.859 after 100–400 steps; README, "Fewer reward steps").
   * `loss` picks PIT's five ranking constraints (the default), 'swap-only', or 'rp-difference'
   * (R_PIT := R_P(x, y) − R_P(x, y_ref), an R_P-layout model trained with Bradley–Terry).
   */
  gapReward: Section<RewardConfig, Steps, Exclude<TrainOwned, 'loss'>>;
  /**
   * The judge RM; `sftSteps` of language modelling on its chosen responses come first. It keeps
   * the EOS read-out: with its own 3,651 pairs and 2×128 trunk, per-token pooling measured no
   * better on its 202 test pairs (0.668 vs 0.693).
   */
  judge: Section<RewardConfig, Steps, TrainOwned> & { sftSteps: number; pooling: RewardPooling };
  /** RLHF of M_P against R_P (no held-out check: `validateEvery` and its kin are PIT RL's). */
  rlhf: Section<PpoConfig, PpoStated, PpoOwned | CheckKeys>;
  /**
   * PIT RL of M_PIT against R_PIT. `totalUpdates` is the updates of each curriculum round; the
   * held-out check (`validateEvery`, `patience`, `selectionMargin`) scores R_P's improvement of
   * M_P^RL's responses to validation prompts after one step of the improver, and each round keeps
   * its best-scoring policy.
   */
  pitRl: Section<PpoConfig, PpoStated | CheckKeys, PpoOwned> & {
    /** The curriculum: 0, y_ref = y_l; 1, y_ref ~ M_P^RL. */
    rounds: number[];
    /** Distinct validation prompts the held-out check improves (the first ones). */
    validationSize: number;
    /**
     * Draws of y_0 per validation prompt in the held-out check; each prompt's gain is the mean
     * over its draws, so the selection margin's standard error counts prompts (a cluster SE).
     */
    validationDraws: number;
  };
  /** Self-improvement inference and the evaluation grid. */
  improve: {
    iterations: number;
    /**
     * Sampling temperature of every improvement step (PIT, the SFT improver, Self-Refine's
     * refinement): the paper's inference temperature, which it sweeps (0.4–0.6 best there). Ours is
     * chosen on the validation prompts (`scripts/improver-temperature.ts`), never on test.
     */
    temperature: number;
    /**
     * Temperature at which M_P^RL samples the responses to improve (y_0), and resampling and
     * best-of-N sample; M_P^RL is judged against M_P^SFT at it and at RLHF's rollout temperature.
     */
    responseTemperature: number;
    /**
     * Draws of y_0 per test prompt, each improved and judged on its own. Every interval resamples
     * prompts, with their draws together (a cluster bootstrap), so more draws narrow it only as far
     * as the prompts allow.
     */
    samples: number;
    gapThreshold: number;
    maxNewTokens: number;
    temperatures: number[];
    /** Bootstrap resamples for confidence intervals. */
    bootstrap: number;
  };
}

// PPO settings RLHF and PIT RL share. β = 0.05 let PIT round 1 drift to KL 2–3 nats against
// M_PIT^SFT in 20 updates while R_PIT's gap rose and the exact judge's score fell (0.635 → 0.514):
// R_PIT (swap accuracy 0.78) is exploitable at this size, so the anchor is stronger.
const DEFAULT_PPO = {
  batchSize: 32,
  lr: 3e-5,
  klCoef: 0.2,
  temperature: 1,
  nMinibatches: 2,
  ppoEpochs: 2,
};

/** The `default` profile, and the base the other two override. */
const DEFAULT: PipelineConfig = {
  data: {
    source: 'synthetic',
    maxTrain: 0,
    synthSize: 13000,
    judgeSize: 6000,
    nearShare: 0,
    nearKinds: 'all',
    evalSize: 200,
  },
  model: { vocabSize: 160, blockSize: 112, nLayer: 3, nHead: 4, nEmbd: 96 },
  judgeModel: { vocabSize: 160, blockSize: 112, nLayer: 2, nHead: 4, nEmbd: 128 },
  sft: { maxSteps: 2400, batchSize: 32, lr: 2e-3 },
  sftImprover: { maxSteps: 2400, batchSize: 32, lr: 2e-3 },
  reward: { maxSteps: 100, batchSize: 32, lr: 3e-4, pooling: 'eos+loglik' },
  gapReward: { maxSteps: 200, batchSize: 32, lr: 3e-4 },
  judge: { maxSteps: 500, batchSize: 32, lr: 1e-3, sftSteps: 300, pooling: 'eos' },
  // 100 updates against the log-likelihood R_P raised M_P's exact-judge score at T = 1 from 0.635
  // to 0.680 (20 updates: 0.644; the judge itself as reward: 0.661) with KL 0.10
  // (scripts/rlhf-ceiling.ts); RLHF trains beside R_PIT, off the longest chain.
  rlhf: { ...DEFAULT_PPO, totalUpdates: 100 },
  pitRl: {
    // Rollouts at T = 1, not the improver's 0.2: on validation, at 0.2 the check below kept a
    // round-1 policy the exact judge rated below M_PIT^SFT, Δ −3.5% [−6.7%, −0.2%] (README).
    ...DEFAULT_PPO,
    // A real budget pays only with a reward that reads the edits: 150 updates a round of 128
    // rollouts (RLOO 16 × 8, T = 0.2, β 0.05) lifted M_PIT^SFT by 5–6 points against the exact
    // judge's gap on validation (seeds 0 and 3) and cost it 6–12 against R_PIT (README).
    totalUpdates: 20,
    rounds: [0, 1],
    validateEvery: 4,
    patience: 2,
    // R_P ranks the improver's own edits of M_P^RL's responses at about chance (results.json's
    // rewardAgreement), so the best of several checks is mostly the luckiest: a policy is kept
    // only when its gain over the kept one stands two standard errors clear. The check improves
    // every distinct validation prompt (185 of the 199 rows), each with four draws of y_0, and
    // its standard error counts prompts: 740 edits where 128 prompts × 1 draw was under-powered.
    selectionMargin: 2,
    validationSize: 199,
    validationDraws: 4,
  },
  // The improvers sample at 0.2: on the validation prompts (scripts/improver-temperature.ts)
  // 0.1–0.2 improve M_P^RL's responses most for both M_PIT^SFT and M_PIT^RL, 0.4 within noise of
  // nothing; M_P^RL itself gains nothing from a lower temperature. Eight draws of y_0 per prompt
  // narrow the main Δ's interval from about ±10 points (one draw) to about ±4 (±5 with four).
  improve: {
    iterations: 5,
    temperature: 0.2,
    responseTemperature: 0.4,
    samples: 8,
    gapThreshold: 0,
    maxNewTokens: 24,
    temperatures: [0.2, 0.4, 0.6, 0.8, 1.0],
    bootstrap: 2000,
  },
};

/** Any part of a config, at any depth (lists are replaced whole). */
export type ConfigOverrides<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object
      ? ConfigOverrides<T[K]>
      : T[K];
};

// As in `default`, RLHF and PIT RL share their PPO sizes.
const SMOKE_PPO = { totalUpdates: 3, batchSize: 16, lr: 1e-4, klCoef: 0.05 };
const FULL_PPO = { totalUpdates: 200, batchSize: 64, lr: 1e-5, klCoef: 0.05 };

/** What `smoke` and `full` change in `default`. */
const OVERRIDES: Record<Exclude<Profile, 'default'>, ConfigOverrides<PipelineConfig>> = {
  smoke: {
    data: { maxTrain: 400, synthSize: 0, judgeSize: 0, evalSize: 48 },
    model: { nLayer: 2, nHead: 2, nEmbd: 48 },
    judgeModel: { nLayer: 1, nHead: 2, nEmbd: 32 },
    sft: { maxSteps: 60, batchSize: 16, lr: 3e-3 },
    sftImprover: { maxSteps: 60, batchSize: 16, lr: 3e-3 },
    reward: { maxSteps: 40, batchSize: 16 },
    gapReward: { maxSteps: 40, batchSize: 16, lr: 1e-3 },
    judge: { maxSteps: 40, batchSize: 16, sftSteps: 20 },
    rlhf: SMOKE_PPO,
    pitRl: {
      ...SMOKE_PPO,
      validateEvery: 1,
      patience: 0,
      selectionMargin: 0,
      validationSize: 32,
      validationDraws: 2,
    },
    improve: {
      iterations: 2,
      temperature: 0.4,
      responseTemperature: 0.6,
      samples: 2,
      maxNewTokens: 20,
      temperatures: [0.4, 1.0],
      bootstrap: 200,
    },
  },
  full: {
    data: { synthSize: 40000, judgeSize: 20000, evalSize: 202 },
    model: { nLayer: 6, nHead: 8, nEmbd: 256 },
    judgeModel: { nLayer: 4 },
    sft: { maxSteps: 3000, batchSize: 64, lr: 1e-3 },
    sftImprover: { maxSteps: 4000, batchSize: 64, lr: 1e-3 },
    reward: { maxSteps: 2000, batchSize: 64, lr: 1e-4 },
    gapReward: { maxSteps: 1000, batchSize: 64 },
    judge: { maxSteps: 1500, batchSize: 64, lr: 3e-4, sftSteps: 2000 },
    rlhf: FULL_PPO,
    pitRl: { ...FULL_PPO, validateEvery: 20, patience: 3, validationSize: 199, validationDraws: 4 },
  },
};

/** A trainer's fields a section may set: all but `owned`, which the pipeline sets itself. */
function trainerFields(defaults: object, owned: readonly string[], extra: object = {}): object {
  const own = Object.entries(defaults).filter(([key]) => !owned.includes(key));
  return { ...Object.fromEntries(own), ...extra };
}

// `trainSettings` sets outDir and stage; each reward stage picks its model kind's loss; PPO's
// EOS and PAD are the tokenizer's; only PIT RL has a held-out check.
const TRAIN_OWNED = ['outDir', 'stage', 'loss'] as const;
const PPO_OWNED = ['eosId', 'padId'] as const;
const CHECK_KEYS = ['validateEvery', 'patience', 'selectionMargin'] as const;

/** Every key a config may hold, with a value of the kind it must have (objects: their keys). */
const SHAPE = {
  data: { ...DEFAULT.data, format: '' },
  model: DEFAULT_GPT_CONFIG,
  judgeModel: DEFAULT_GPT_CONFIG,
  sft: trainerFields(DEFAULT_SFT_CONFIG, TRAIN_OWNED),
  sftImprover: trainerFields(DEFAULT_SFT_CONFIG, TRAIN_OWNED),
  reward: trainerFields(DEFAULT_REWARD_CONFIG, TRAIN_OWNED, { pooling: 'eos' }),
  gapReward: trainerFields(
    DEFAULT_REWARD_CONFIG,
    TRAIN_OWNED.filter((k) => k !== 'loss'),
  ),
  judge: trainerFields(DEFAULT_REWARD_CONFIG, TRAIN_OWNED, { sftSteps: 0, pooling: 'eos' }),
  rlhf: trainerFields(DEFAULT_PPO_CONFIG, [...PPO_OWNED, ...CHECK_KEYS]),
  pitRl: trainerFields(DEFAULT_PPO_CONFIG, PPO_OWNED, {
    rounds: [],
    validationSize: 0,
    validationDraws: 0,
  }),
  improve: DEFAULT.improve,
};

export function profileConfig(profile: Profile): PipelineConfig {
  if (!PROFILES.includes(profile)) {
    throw new Error(`Unknown profile '${profile}'. Known: ${PROFILES.join(', ')}`);
  }
  const base = structuredClone(DEFAULT);
  return profile === 'default' ? base : mergeConfig(base, OVERRIDES[profile], SHAPE);
}

/**
 * Applies `overrides` (same shape, any depth) to a profile, rejecting unknown keys, values of the
 * wrong kind and out-of-range values before any work starts, with the dotted key in the message.
 */
export function resolvePipelineConfig(profile: Profile, overrides: unknown = {}): PipelineConfig {
  const config = mergeConfig(profileConfig(profile), overrides, SHAPE);
  validate(config);
  return config;
}

/** The settings of a train section (SFT or reward) that are the pipeline's, not the trainer's. */
type PipelineOnly = 'pooling' | 'sftSteps';
type Schedule = Pick<BaseTrainConfig, 'warmupSteps' | 'logEvery' | 'evalEvery' | 'checkpointEvery'>;

/**
 * An SFT or reward section as its trainer's config, with the pipeline's schedule: warmup over the
 * first tenth (at most 20 steps), a logging window of a tenth (1–10 steps), evaluation only at
 * the end, and a checkpoint about every quarter of the run (a multiple of the logging window) so
 * a killed stage resumes. What the section sets wins; `pooling` and `sftSteps` are dropped.
 */
export function trainSettings<
  S extends Partial<BaseTrainConfig> & Pick<BaseTrainConfig, 'maxSteps'>,
>(
  section: S,
  outDir: string,
  stage: string,
): Omit<S, PipelineOnly> & Schedule & { outDir: string; stage: string } {
  const { pooling: _p, sftSteps: _s, ...own } = section as S & Record<PipelineOnly, unknown>;
  const n = section.maxSteps;
  const logEvery = section.logEvery ?? Math.max(1, Math.min(10, Math.floor(n / 10)));
  const schedule: Schedule = {
    warmupSteps: Math.min(20, Math.floor(n / 10)),
    logEvery,
    evalEvery: 0,
    checkpointEvery: logEvery * Math.max(1, Math.round(n / 40)),
  };
  return { ...schedule, ...own, logEvery, outDir, stage } as Omit<S, PipelineOnly> &
    Schedule & { outDir: string; stage: string };
}

/**
 * The range rules: each training section passes its own trainer's checks (as `trainSettings`
 * and the stage give it), under its path in the config; then the pipeline's own rules.
 */
function validate(c: PipelineConfig): void {
  checkPositiveInt('config.data.evalSize', c.data.evalSize);
  checkOneOf('config.data.nearKinds', c.data.nearKinds, ['all', 'relational']);
  check(
    Number.isFinite(c.data.nearShare) && c.data.nearShare >= 0 && c.data.nearShare <= 1,
    'config.data.nearShare',
    'a number in [0, 1]',
    c.data.nearShare,
  );
  resolveGptConfig(c.model, 'config.model');
  resolveGptConfig(c.judgeModel, 'config.judgeModel');
  for (const key of ['sft', 'sftImprover'] as const) {
    resolveSftConfig(trainSettings(c[key], '', key), `config.${key}`);
  }
  for (const key of ['reward', 'gapReward', 'judge'] as const) {
    resolveRewardConfig(trainSettings(c[key], '', key), `config.${key}`);
  }
  checkPositiveInt('config.judge.sftSteps', c.judge.sftSteps);
  for (const key of ['reward', 'judge'] as const) {
    checkOneOf(`config.${key}.pooling`, c[key].pooling, REWARD_POOLINGS);
  }
  resolvePpoConfig(c.rlhf, 'config.rlhf');
  const { rounds, validationSize, validationDraws, ...pitPpo } = c.pitRl;
  resolvePpoConfig(pitPpo, 'config.pitRl');
  check(
    rounds.length > 0 && rounds.every((r) => r === 0 || r === 1),
    'config.pitRl.rounds',
    'a non-empty list of rounds 0 and/or 1',
    rounds,
  );
  checkPositiveInt('config.pitRl.validationSize', validationSize);
  checkPositiveInt('config.pitRl.validationDraws', validationDraws);
  const { improve } = c;
  checkPositiveInt('config.improve.iterations', improve.iterations);
  checkPositiveInt('config.improve.samples', improve.samples);
  const temperatures: Array<[string, number]> = [
    ['config.improve.temperature', improve.temperature],
    ['config.improve.responseTemperature', improve.responseTemperature],
    ...improve.temperatures.map((t, i): [string, number] => [
      `config.improve.temperatures[${i}]`,
      t,
    ]),
  ];
  for (const [path, t] of temperatures) check(t > 0 && t <= 2, path, 'in (0, 2]', t);
}
