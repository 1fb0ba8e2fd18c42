/**
 * PIT reinforcement learning (Wang et al., ICLR 2024, §2.4 of pit-method.md): PPO on the improver
 * M_PIT with the gap reward R_PIT(x, y, y_ref), over a curriculum of rounds that differ in where
 * y_ref comes from. Round 0 uses y_l from the data (easy to improve on); round 1 samples y_ref
 * afresh from M_P^RL every iteration (the distribution met at inference). The list of rounds is
 * configuration, so "round 0 only", "round 1 only" and "both" are three configs of one function.
 *
 * Layout: the policy reads [x SEP_REF y_ref SEP] and writes y (the same layout as PIT SFT); the KL
 * anchor is the frozen M_PIT^SFT for every round, and each round starts from the previous round's
 * policy and critic (pit-method §2.4 [INFER]: not confirmed by the paper).
 */
import { SPECIAL_IDS } from '../data';
import type { Gpt } from '../models';
import { sample } from '../models';
import type { Rng } from '../runtime';
import { check, checkPositiveInt, resolveConfig } from '../runtime/validate';
import { type PpoConfig, type PpoOptions, type PpoResult, trainPpo, type ValueModel } from './ppo';

/** One preference triple as token ids (no BOS/EOS needed; a trailing EOS in y_l is dropped). */
export interface PitExample {
  prompt: number[];
  /** y_l, the worse response: round 0's reference. */
  rejected: number[];
}

/**
 * R_PIT(x, y, y_ref) for a batch: how much better each y is than its y_ref. Responses may end in
 * EOS; references never do (they are cut at EOS before use).
 */
export type GapRewardFn = (prompts: number[][], ys: number[][], refs: number[][]) => Float32Array;

/** Where a round's references come from. */
export type ReferenceSource = 'data' | 'policy';

export interface PitRound {
  /** 'data': y_ref = y_l from the dataset; 'policy': y_ref ~ M_P^RL(·|x), fresh each iteration. */
  reference: ReferenceSource;
  /** PPO updates in this round. */
  updates: number;
}

export interface PitRlConfig {
  /** The curriculum, run in order. @defaultValue [{data, 50}, {policy, 50}] (the paper's two rounds) */
  rounds: PitRound[];
  /** PPO settings shared by every round (`totalUpdates` is taken from the round). @defaultValue {} */
  ppo: Partial<PpoConfig>;
  /** Temperature for sampling y_ref from M_P^RL (the pipeline uses y_0's). @defaultValue 0.7 */
  referenceTemperature: number;
  /** Most tokens of a sampled y_ref. @defaultValue 24 */
  referenceLength: number;
}

export const DEFAULT_PIT_RL_CONFIG: Readonly<PitRlConfig> = Object.freeze<PitRlConfig>({
  rounds: [
    { reference: 'data', updates: 50 },
    { reference: 'policy', updates: 50 },
  ],
  ppo: {},
  referenceTemperature: 0.7,
  referenceLength: 24,
});

/** Resolves a PIT RL config; every round is checked by index. */
export function resolvePitRlConfig(partial: Partial<PitRlConfig> = {}): PitRlConfig {
  const N = 'PitRlConfig';
  const c = resolveConfig(DEFAULT_PIT_RL_CONFIG, partial, N);
  check(c.rounds.length > 0, `${N}.rounds`, 'a non-empty list', c.rounds);
  for (const [i, r] of c.rounds.entries()) {
    const at = `${N}.rounds[${i}]`;
    check(
      ['data', 'policy'].includes(r.reference),
      `${at}.reference`,
      "'data' or 'policy'",
      r.reference,
    );
    checkPositiveInt(`${at}.updates`, r.updates);
  }
  check(
    c.ppo.totalUpdates === undefined,
    `${N}.ppo.totalUpdates`,
    'unset (each round sets its own `updates`)',
    c.ppo.totalUpdates,
  );
  return c;
}

/** y cut before its first EOS (references are shown to the improver without a stop token). */
export function stripEos(y: readonly number[], eosId: number = SPECIAL_IDS.eos): number[] {
  const i = y.indexOf(eosId);
  return i >= 0 ? y.slice(0, i) : [...y];
}

/**
 * The improver's input [x SEP_REF y_ref SEP]: exactly M_PIT's SFT query (`policyPrompt(tok, x,
 * y_ref)` in train/batches.ts), so RL continues from the layout SFT trained on.
 */
export function pitQuery(
  x: readonly number[],
  yRef: readonly number[],
  eosId: number = SPECIAL_IDS.eos,
): number[] {
  return [...x, SPECIAL_IDS.sepRef, ...stripEos(yRef, eosId), SPECIAL_IDS.sep];
}

/** Splits [x SEP_REF y_ref SEP] back into x and y_ref at the first SEP_REF (trailing SEP dropped). */
export function splitPitQuery(query: readonly number[]): { prompt: number[]; reference: number[] } {
  const i = query.indexOf(SPECIAL_IDS.sepRef);
  if (i < 0)
    throw new Error(
      `splitPitQuery: no SEP_REF (${SPECIAL_IDS.sepRef}) in query [${query.join(' ')}]`,
    );
  const end = query.at(-1) === SPECIAL_IDS.sep ? query.length - 1 : query.length;
  return { prompt: query.slice(0, i), reference: query.slice(i + 1, end) };
}

/** Mean gap and fraction of positive gaps of one batch of R_PIT scores. */
export function gapStats(gaps: ArrayLike<number>): { mean: number; positiveFrac: number } {
  let sum = 0;
  let pos = 0;
  for (let i = 0; i < gaps.length; i++) {
    sum += gaps[i]!;
    if (gaps[i]! > 0) pos += 1;
  }
  return gaps.length
    ? { mean: sum / gaps.length, positiveFrac: pos / gaps.length }
    : { mean: 0, positiveFrac: 0 };
}

export interface PitRlModels {
  /** M_PIT, trained in place. */
  policy: Gpt;
  /** M_PIT^SFT, frozen: the KL anchor of every round. */
  ref: Gpt;
  /** Needed with `ppo.advantage` 'gae' (the default); the group baselines run without it. */
  critic?: ValueModel;
  /** M_P^RL, frozen: samples round-1 references. Needed only by 'policy' rounds. */
  sampler?: Gpt;
}

/**
 * M_P's own query for an example's prompt, [x SEP]: the layout M_P^RL learned, so round-1
 * references are y_ref ~ M_P^RL(·|x) as the evaluation's y_0 are (x alone is a layout it never saw).
 */
export const referenceQuery = (e: PitExample): number[] => [...e.prompt, SPECIAL_IDS.sep];

/**
 * The prompt source of one round: draws examples and builds [x SEP_REF y_ref SEP] queries, sampling
 * y_ref from M_P^RL in 'policy' rounds (with its own random stream, so resume replays it). With
 * `ppo.advantage` 'rloo'/'grpo' trainPpo asks for batchSize/groupSize queries and repeats each, so
 * a group's members share x and y_ref and the baseline compares responses to one query.
 */
export function pitPromptSource(
  data: readonly PitExample[],
  round: PitRound,
  sampler: Gpt | undefined,
  options: { temperature: number; maxNewTokens: number; eosId: number; padId: number },
): (batchSize: number, rng: Rng) => number[][] {
  if (data.length === 0) throw new Error('trainPitRl: no examples');
  if (round.reference === 'policy' && !sampler) {
    throw new Error("trainPitRl: a 'policy' round needs models.sampler (M_P^RL)");
  }
  return (batchSize, rng) => {
    const batch = Array.from({ length: batchSize }, () => data[rng.int(data.length)]!);
    const refs =
      round.reference === 'data'
        ? batch.map((e) => e.rejected)
        : sample(sampler!, batch.map(referenceQuery), { ...options, rng }).tokens;
    return batch.map((e, i) => pitQuery(e.prompt, refs[i]!, options.eosId));
  };
}

/**
 * Runs the curriculum: one PPO stage per round (`pit_rl.r<i>`), each logging its own metrics file
 * with `pit/round`, `pit/gap_reward_mean` and `pit/positive_gap_frac` added to every row.
 */
export async function trainPitRl(
  models: PitRlModels,
  data: readonly PitExample[],
  gapReward: GapRewardFn,
  config: Partial<PitRlConfig> = {},
  options: Omit<PpoOptions, 'stage' | 'extraMetrics'> = {},
): Promise<PpoResult[]> {
  const c = resolvePitRlConfig(config);
  const eosId = c.ppo.eosId ?? SPECIAL_IDS.eos;
  const padId = c.ppo.padId ?? SPECIAL_IDS.pad;
  const reward = (queries: number[][], responses: number[][]) => {
    const parts = queries.map(splitPitQuery);
    return gapReward(
      parts.map((p) => p.prompt),
      responses,
      parts.map((p) => p.reference),
    );
  };
  const results: PpoResult[] = [];
  for (const [i, round] of c.rounds.entries()) {
    const prompts = pitPromptSource(data, round, models.sampler, {
      temperature: c.referenceTemperature,
      maxNewTokens: c.referenceLength,
      eosId,
      padId,
    });
    const result = await trainPpo(
      models,
      prompts,
      reward,
      { ...c.ppo, totalUpdates: round.updates },
      {
        ...options,
        stage: `pit_rl.r${i}`,
        extraMetrics: ({ rawScores }) => {
          const g = gapStats(rawScores);
          return {
            'pit/round': i,
            'pit/gap_reward_mean': g.mean,
            'pit/positive_gap_frac': g.positiveFrac,
          };
        },
      },
    );
    results.push(result);
  }
  return results;
}
