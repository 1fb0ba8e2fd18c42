/**
 * Text-level generation and scoring on top of the models: responses from a policy (M_P, M_PIT,
 * the Self-Refine model), R_P and R_PIT scores of text, all in fixed-size batches.
 */
import { SPECIAL_IDS, type Tokenizer } from '../data';
import { type Gpt, sample } from '../models';
import type { RewardModel } from '../models/reward';
import type { Rng } from '../runtime';
import { policyPrompt, rpInput, rpitInput } from '../train/batches';
import type { GapRewardFn } from '../train/pit_rl';
import type { RewardFn } from '../train/ppo';
import { scoreRows } from '../train/reward';

export interface GenerateOptions {
  temperature: number;
  maxNewTokens: number;
  /** Rows per sampling batch. @defaultValue 64 */
  batchSize?: number;
  rng: Rng;
}

/** Decodes sampled tokens up to (not including) EOS. */
export function decodeResponse(tok: Tokenizer, tokens: readonly number[]): string {
  const end = tokens.indexOf(SPECIAL_IDS.eos);
  return tok.decode(end < 0 ? tokens : tokens.slice(0, end));
}

/** Samples one response per query (token ids, e.g. from `policyPrompt`), as text. */
export function generate(
  model: Gpt,
  tok: Tokenizer,
  queries: readonly number[][],
  options: GenerateOptions,
): string[] {
  const batch = options.batchSize ?? 64;
  const out: string[] = [];
  for (let i = 0; i < queries.length; i += batch) {
    const chunk = queries.slice(i, i + batch) as number[][];
    const room = model.config.blockSize - Math.max(...chunk.map((q) => q.length));
    const { tokens } = sample(model, chunk, {
      maxNewTokens: Math.max(1, Math.min(options.maxNewTokens, room)),
      temperature: options.temperature,
      eosId: SPECIAL_IDS.eos,
      padId: SPECIAL_IDS.pad,
      rng: options.rng,
    });
    out.push(...tokens.map((t) => decodeResponse(tok, t)));
  }
  return out;
}

/** M_P's responses to prompts x. */
export function respond(
  model: Gpt,
  tok: Tokenizer,
  xs: readonly string[],
  options: GenerateOptions,
): string[] {
  return generate(
    model,
    tok,
    xs.map((x) => policyPrompt(tok, x)),
    options,
  );
}

/** M_PIT's improvements of `ys` for prompts `xs`: y' ~ M_PIT(x, y). */
export function improveOnce(
  model: Gpt,
  tok: Tokenizer,
  xs: readonly string[],
  ys: readonly string[],
  options: GenerateOptions,
): string[] {
  return generate(
    model,
    tok,
    xs.map((x, i) => policyPrompt(tok, x, ys[i]!)),
    options,
  );
}

/** Batch size of the scoring passes below (no gradient, so larger than training's). */
const SCORE_BATCH = 128;

/** R_P(x, y) for each row. */
export function scoreRp(
  rm: RewardModel,
  tok: Tokenizer,
  xs: readonly string[],
  ys: readonly string[],
): Float32Array {
  return scoreRows(
    rm,
    xs.map((x, i) => rpInput(tok, x, ys[i]!)),
    SCORE_BATCH,
  );
}

/**
 * R_PIT's single-pass scores r(x, y, y_ref) − offset: what the five-constraint loss trains.
 * `scoreGap` (what PIT RL and the stopping rule use) antisymmetrises these.
 */
export function rawGapScores(
  rm: RewardModel,
  tok: Tokenizer,
  xs: readonly string[],
  ys: readonly string[],
  refs: readonly string[],
): Float32Array {
  return scoreRows(
    rm,
    xs.map((x, i) => rpitInput(tok, x, ys[i]!, refs[i]!)),
    SCORE_BATCH,
  );
}

/**
 * R_PIT(x, y, y_ref): how much better `ys` are than `refs`, for each row. Antisymmetrised,
 * (r(x, y, y_ref) − r(x, y_ref, y)) / 2, so that r(x, y, y) = 0 exactly and swapping the two
 * responses flips the sign: the trained model's own self-gap is only ≈ 0 on average (its offset),
 * which would make the gap stopping rule's threshold of 0 meaningless row by row.
 * Costs a second forward pass per score. A scalar-score model (R_P, or the 'rp-difference' R_PIT)
 * gives R(x, y) − R(x, y_ref) instead.
 */
export function scoreGap(
  rm: RewardModel,
  tok: Tokenizer,
  xs: readonly string[],
  ys: readonly string[],
  refs: readonly string[],
): Float32Array {
  if (rm.kind !== 'rpit') {
    // A scalar-score model (R_P, or R_PIT trained as R_P's difference): the gap is a difference.
    const a = scoreRp(rm, tok, xs, ys);
    const b = scoreRp(rm, tok, xs, refs);
    return a.map((v, i) => v - b[i]!);
  }
  const forward = rawGapScores(rm, tok, xs, ys, refs);
  const backward = rawGapScores(rm, tok, xs, refs, ys);
  return forward.map((f, i) => (f - backward[i]!) / 2);
}

/** RLHF's reward: R_P on each decoded (query, response), as the rl_mp stage trains against. */
export function rpReward(rm: RewardModel, tok: Tokenizer): RewardFn {
  // Queries are <bos> x <sep>: decoding drops the specials and gives x back.
  return (queries, responses) =>
    scoreRp(
      rm,
      tok,
      queries.map((q) => tok.decode(q)),
      responses.map((y) => decodeResponse(tok, y)),
    );
}

/** PIT RL's reward: R_PIT's antisymmetrised gap on each decoded (x, y, y_ref). */
export function gapReward(rpit: RewardModel, tok: Tokenizer): GapRewardFn {
  const text = (ids: number[]) => decodeResponse(tok, ids);
  return (xs, ys, refs) =>
    scoreGap(
      rpit,
      tok,
      xs.map((x) => tok.decode(x)),
      ys.map(text),
      refs.map(text),
    );
}
