/**
 * ELO ratings of several "players" (e.g. PIT iterations 0..5 and Self-Refine iterations 0..5)
 * from per-row judge scores, as in the PIT paper's iteration study (Table 3, after Zheng et al.
 * 2023, "Judging LLM-as-a-judge with MT-Bench and Chatbot Arena").
 *
 * Games: on every row, every pair of players plays one game; the higher judge score wins and
 * scores within `tieEps` tie (the rule of `compare`). Two ratings are offered:
 *
 * - Sequential Elo (Elo 1978, *The Rating of Chessplayers*): start everyone at 1000, update
 *   r_a += K·(s − E_a) with E_a = 1 / (1 + 10^((r_b − r_a)/400)) game by game. The result depends
 *   on the order of games (the paper notes ranks change when the order is shuffled), so games are
 *   played in `permutations` seeded random orders and the final ratings are averaged.
 * - Bradley–Terry (Bradley & Terry 1952): P(i beats j) = γ_i / (γ_i + γ_j), fitted by maximum
 *   likelihood with Hunter's MM algorithm (Hunter 2004, "MM algorithms for generalized
 *   Bradley–Terry models", eq. 3) and put on the Elo scale as 1000 + 400·log10 γ_i with the
 *   geometric mean of γ fixed at 1. It is order-free, so it is the default.
 *
 * Both scales have mean rating 1000 (sequential Elo conserves the rating sum). CIs are percentile
 * bootstraps over rows: a row's games are correlated, so rows, not games, are resampled.
 */
import type { Rng } from '../runtime/rng';
import {
  type BootstrapOptions,
  bootstrapReplicates,
  bootstrapSettings,
  percentileInterval,
  streamFor,
  toScores,
} from './bootstrap';
import { DEFAULT_TIE_EPS } from './compare';

/** One game: `score` is A's result, 1 win, 0.5 tie, 0 loss. */
export interface Game {
  a: number;
  b: number;
  score: number;
}

/** Rating every player starts at, and the mean of every rating scale here. */
export const ELO_INITIAL = 1000;
/** Elo's scale: a 400-point gap means 10:1 odds. */
const SCALE = 400;

/** Expected score of a player rated `ra` against one rated `rb` (Elo's logistic curve). */
export function expectedScore(ra: number, rb: number): number {
  return 1 / (1 + Math.exp(((rb - ra) * Math.LN10) / SCALE)); // 10^x as e^(x·ln 10): faster
}

export interface SequentialEloOptions {
  /**
   * Update step. @defaultValue 4: Chatbot Arena's choice for many games between fixed players;
   * chess's 16–32 make the last few hundred games dominate the final rating.
   */
  k?: number;
  /** Starting rating. @defaultValue 1000 */
  initial?: number;
  /** Play the games in seeded random orders and average; false plays them once as given. @defaultValue true */
  shuffle?: boolean;
  /** How many random orders to average over when shuffling. @defaultValue 20 */
  permutations?: number;
  /** Stream for the orders. @defaultValue `runtime.rng(label ?? 'eval/elo')` */
  rng?: Rng;
  label?: string;
}

/** Games as parallel typed arrays: the hot loops below run over millions of them. */
interface GameArrays {
  a: Int32Array;
  b: Int32Array;
  score: Float32Array;
}

/** Sequential Elo ratings after playing `games` (see the header for the order averaging). */
export function sequentialElo(
  games: readonly Game[],
  nPlayers: number,
  opts: SequentialEloOptions = {},
): Float64Array {
  for (const g of games) checkGame(g, nPlayers, 'sequentialElo');
  const arrays: GameArrays = {
    a: Int32Array.from(games, (g) => g.a),
    b: Int32Array.from(games, (g) => g.b),
    score: Float32Array.from(games, (g) => g.score),
  };
  return playElo(arrays, nPlayers, opts);
}

function playElo(games: GameArrays, nPlayers: number, opts: SequentialEloOptions): Float64Array {
  const k = opts.k ?? 4;
  const initial = opts.initial ?? ELO_INITIAL;
  const shuffle = opts.shuffle ?? true;
  const perms = shuffle ? (opts.permutations ?? 20) : 1;
  if (!Number.isInteger(perms) || perms < 1) {
    throw new Error(`sequentialElo: \`permutations\` must be a positive integer, got ${perms}`);
  }
  const rng = shuffle ? streamFor(opts, 'eval/elo') : undefined;
  const n = games.a.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const mean = new Float64Array(nPlayers);
  const r = new Float64Array(nPlayers);
  for (let p = 0; p < perms; p++) {
    r.fill(initial);
    if (rng) {
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
    }
    for (let t = 0; t < n; t++) {
      const idx = order[t]!;
      const a = games.a[idx]!;
      const b = games.b[idx]!;
      const step = k * (games.score[idx]! - expectedScore(r[a]!, r[b]!));
      r[a]! += step;
      r[b]! -= step;
    }
    for (let i = 0; i < nPlayers; i++) mean[i]! += r[i]! / perms;
  }
  return mean;
}

function checkGame(g: Game, nPlayers: number, fn: string): void {
  const ok = (i: number) => Number.isInteger(i) && i >= 0 && i < nPlayers;
  if (!ok(g.a) || !ok(g.b) || g.a === g.b || !(g.score >= 0 && g.score <= 1)) {
    throw new Error(
      `${fn}: bad game ${JSON.stringify(g)}; players are 0..${nPlayers - 1}, score in [0, 1]`,
    );
  }
}

/** Win counts w[i·n + j] = games i won against j, a tie counting half to each. */
export function winMatrix(games: readonly Game[], nPlayers: number): Float64Array {
  const w = new Float64Array(nPlayers * nPlayers);
  for (const g of games) {
    checkGame(g, nPlayers, 'winMatrix');
    w[g.a * nPlayers + g.b]! += g.score;
    w[g.b * nPlayers + g.a]! += 1 - g.score;
  }
  return w;
}

export interface BradleyTerryOptions {
  /**
   * Virtual tied games added to every pair before fitting. A positive prior guarantees the
   * maximum-likelihood estimate exists (Hunter 2004, Assumption 1: no player or group wins or
   * loses every game) and shrinks sparse pairs toward equal strength. @defaultValue 1
   */
  prior?: number;
  /** Iteration cap of the MM algorithm. @defaultValue 10000 */
  maxIter?: number;
  /** Stop when no rating moves by more than this many Elo points. @defaultValue 1e-6 */
  tol?: number;
  /** Mean of the returned ratings. @defaultValue 1000 */
  initial?: number;
}

export interface BradleyTerryFit {
  /** 1000 + 400·log10 γ_i, mean `initial`. */
  ratings: Float64Array;
  iterations: number;
  converged: boolean;
}

/** Bradley–Terry maximum likelihood by Hunter's MM algorithm, from a `winMatrix`. */
export function bradleyTerry(
  wins: Float64Array,
  nPlayers: number,
  opts: BradleyTerryOptions = {},
): BradleyTerryFit {
  const n = nPlayers;
  if (wins.length !== n * n) {
    throw new Error(`bradleyTerry: \`wins\` has ${wins.length} cells, expected ${n}×${n}`);
  }
  const prior = opts.prior ?? 1;
  const maxIter = opts.maxIter ?? 10000;
  const tol = opts.tol ?? 1e-6;
  const w = Float64Array.from(wins);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j) w[i * n + j]! += prior / 2;
  }
  const total = new Float64Array(n); // W_i: total (half-)wins of i
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) total[i]! += w[i * n + j]!;
  const zero = total.findIndex((t) => t <= 0);
  if (zero >= 0 && n > 1) {
    throw new Error(
      `bradleyTerry: player ${zero} never wins or ties, so its strength is −∞; use \`prior\` > 0`,
    );
  }
  let logG = new Float64Array(n); // natural log of γ, centred at 0
  let iter = 0;
  let converged = n <= 1;
  while (!converged && iter < maxIter) {
    iter++;
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      // Hunter (2004) eq. 3: γ_i ← W_i / Σ_j N_ij / (γ_i + γ_j), with N_ij games between i and j
      let denom = 0;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const nij = w[i * n + j]! + w[j * n + i]!;
        if (nij > 0) denom += nij / (Math.exp(logG[i]!) + Math.exp(logG[j]!));
      }
      next[i] = Math.log(total[i]!) - Math.log(denom);
    }
    const centre = next.reduce((s, v) => s + v, 0) / n;
    let moved = 0;
    for (let i = 0; i < n; i++) {
      next[i]! -= centre;
      moved = Math.max(moved, Math.abs(next[i]! - logG[i]!));
    }
    logG = next;
    converged = (moved * SCALE) / Math.LN10 < tol;
  }
  const initial = opts.initial ?? ELO_INITIAL;
  const ratings = logG.map((l) => initial + (SCALE * l) / Math.LN10);
  return { ratings, iterations: iter, converged };
}

/** Per-row pairwise outcomes: `out[r·P + p]` is the result (1, 0.5, 0) of pair p on row r. */
interface RowGames {
  pairs: Array<[number, number]>;
  out: Float32Array;
  rows: number;
}

function rowGames(scores: Float64Array[], tieEps: number): RowGames {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < scores.length; i++) {
    for (let j = i + 1; j < scores.length; j++) pairs.push([i, j]);
  }
  const rows = scores[0]?.length ?? 0;
  const out = new Float32Array(rows * pairs.length);
  for (let r = 0; r < rows; r++) {
    pairs.forEach(([i, j], p) => {
      const d = scores[i]![r]! - scores[j]![r]!;
      out[r * pairs.length + p] = d > tieEps ? 1 : d < -tieEps ? 0 : 0.5;
    });
  }
  return { pairs, out, rows };
}

/** The games on the given rows (a row may repeat), row-major. */
function gamesOf(g: RowGames, rows: ArrayLike<number>): GameArrays {
  const P = g.pairs.length;
  const out: GameArrays = {
    a: new Int32Array(rows.length * P),
    b: new Int32Array(rows.length * P),
    score: new Float32Array(rows.length * P),
  };
  for (let k = 0; k < rows.length; k++) {
    const base = rows[k]! * P;
    for (let p = 0; p < P; p++) {
      out.a[k * P + p] = g.pairs[p]![0];
      out.b[k * P + p] = g.pairs[p]![1];
      out.score[k * P + p] = g.out[base + p]!;
    }
  }
  return out;
}

/** `winMatrix` of the games on the given rows, without building the game list. */
function winsOf(g: RowGames, rows: ArrayLike<number>, n: number): Float64Array {
  const w = new Float64Array(n * n);
  const P = g.pairs.length;
  for (let k = 0; k < rows.length; k++) {
    const base = rows[k]! * P;
    for (let p = 0; p < P; p++) {
      const [a, b] = g.pairs[p]!;
      const s = g.out[base + p]!;
      w[a * n + b]! += s;
      w[b * n + a]! += 1 - s;
    }
  }
  return w;
}

/** Every pair of players plays one game per row (scores[player][row]), in row-major order. */
export function gamesFromScores(scores: ArrayLike<number>[], tieEps = DEFAULT_TIE_EPS): Game[] {
  const g = rowGames(
    scores.map((s, i) => toScores(s, `scores[${i}]`, 'gamesFromScores')),
    tieEps,
  );
  const all = gamesOf(
    g,
    Array.from({ length: g.rows }, (_, r) => r),
  );
  return Array.from(all.a, (a, i) => ({ a, b: all.b[i]!, score: all.score[i]! }));
}

export interface EloOptions extends BootstrapOptions {
  /** `bt` (Bradley–Terry MLE, order-free) or `sequential` (order-averaged Elo). @defaultValue 'bt' */
  method?: 'bt' | 'sequential';
  /** Tie threshold on score differences, as in `compare`. @defaultValue 1e-6 */
  tieEps?: number;
  /** Options of the sequential fit (its stream defaults to `label + '/order'`). */
  sequential?: Omit<SequentialEloOptions, 'rng' | 'label'>;
  /** Options of the Bradley–Terry fit. */
  bt?: BradleyTerryOptions;
}

/** Ratings of named players with percentile-bootstrap CIs over rows. */
export interface EloResult {
  method: 'bt' | 'sequential';
  players: string[];
  rating: number[];
  ci95: Array<[number, number]>;
  /** Rows (prompts) and games (rows × pairs) behind the ratings. */
  rows: number;
  games: number;
}

/** Default resamples for ELO CIs: each resample refits every rating, so fewer than `compare`. */
export const ELO_RESAMPLES = 500;

/**
 * ELO ratings of named players from their per-row scores under one judge.
 *
 * @param players - name → score per row; every player scored on the same rows in the same order.
 * @param opts - `method` ('bt' default), `tieEps`, bootstrap `resamples` (default 500) and
 *   `level`, the stream (`label` defaults to `'eval/elo'`), and per-method fit options.
 * @remarks For `sequential`, each bootstrap replicate plays its games in one random order, so the
 *   CI also contains order noise and is wider than the order-averaged point estimate's own error.
 */
export function eloFromScores(
  players: Record<string, ArrayLike<number>>,
  opts: EloOptions = {},
): EloResult {
  const names = Object.keys(players);
  if (names.length < 2) throw new Error('eloFromScores: need at least two players');
  const scores = names.map((n) => toScores(players[n]!, n, 'eloFromScores'));
  const rows = scores[0]!.length;
  const uneven = names.find((_, i) => scores[i]!.length !== rows);
  if (uneven !== undefined) {
    throw new Error(
      `eloFromScores: player '${uneven}' has ${players[uneven]!.length} rows, '${names[0]}' has ${rows}`,
    );
  }
  const method = opts.method ?? 'bt';
  const [resamples, level] = bootstrapSettings(
    { resamples: ELO_RESAMPLES, ...opts },
    'eloFromScores',
  );
  const label = opts.label ?? 'eval/elo';
  const g = rowGames(scores, opts.tieEps ?? DEFAULT_TIE_EPS);
  const all = Array.from({ length: rows }, (_, r) => r);
  const orderRng = opts.rng ? opts.rng.fork('order') : streamFor({}, `${label}/order`);
  const fit = (rowIdx: ArrayLike<number>, once: boolean): Float64Array => {
    if (method === 'bt')
      return bradleyTerry(winsOf(g, rowIdx, names.length), names.length, opts.bt).ratings;
    const seq = { ...opts.sequential, rng: orderRng, ...(once ? { permutations: 1 } : {}) };
    return playElo(gamesOf(g, rowIdx), names.length, seq);
  };
  const point = fit(all, false);
  const reps = names.map(() => new Float64Array(resamples));
  let b = 0;
  bootstrapReplicates(
    rows,
    (idx) => {
      const r = fit(idx, true);
      for (let i = 0; i < names.length; i++) reps[i]![b] = r[i]!;
      b++;
      return 0;
    },
    resamples,
    streamFor(opts, label),
    opts.groups,
  );
  return {
    method,
    players: names,
    rating: Array.from(point),
    ci95: reps.map((r) => percentileInterval(r, level)),
    rows,
    games: rows * g.pairs.length,
  };
}
