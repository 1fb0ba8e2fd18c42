/** Sequential Elo and Bradley–Terry ratings on hand-computed games and simulated strengths. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bradleyTerry,
  eloFromScores,
  expectedScore,
  type Game,
  gamesFromScores,
  sequentialElo,
  winMatrix,
} from '../../src/eval';
import { Rng } from '../../src/runtime';

const close = (x: number, y: number, eps = 1e-9) =>
  assert.ok(Math.abs(x - y) <= eps, `expected ${y}, got ${x}`);

test("Elo's expected score: even at equal ratings, 10:1 odds at a 400-point gap", () => {
  close(expectedScore(1000, 1000), 0.5);
  close(expectedScore(1400, 1000), 10 / 11);
  close(expectedScore(1000, 1400) + expectedScore(1400, 1000), 1);
});

test('sequential Elo: a known two-game update sequence with K = 32', () => {
  // game 1: E = 0.5, A 1000 → 1016, B → 984. game 2: E_A = 1/(1 + 10^(−32/400)) = 0.545922,
  // A += 32·(1 − 0.545922) = 14.5305 → 1030.5305, B → 969.4695.
  const games: Game[] = [
    { a: 0, b: 1, score: 1 },
    { a: 0, b: 1, score: 1 },
  ];
  const r = sequentialElo(games, 2, { k: 32, shuffle: false });
  close(r[0]!, 1030.5304984710244);
  close(r[1]!, 969.4695015289755);
  // a tie between unequal players moves the favourite down
  const t = sequentialElo([...games, { a: 1, b: 0, score: 0.5 }], 2, { k: 32, shuffle: false });
  assert.ok(t[0]! < r[0]! && t[1]! > r[1]!);
});

test('sequential Elo depends on order; averaging shuffled orders removes most of it', () => {
  const split: Game[] = [
    { a: 0, b: 1, score: 1 },
    { a: 0, b: 1, score: 0 },
  ];
  // A wins then loses: 1016/984, then B gains 32·(1 − 0.4541) = 17.47 → A 998.53, B 1001.47
  const given = sequentialElo(split, 2, { k: 32, shuffle: false });
  const reversed = sequentialElo([...split].reverse(), 2, { k: 32, shuffle: false });
  close(given[0]!, reversed[1]!);
  assert.ok(given[0]! < 1000 && reversed[0]! > 1000);
  const avg = sequentialElo(split, 2, { k: 32, permutations: 200, label: 'split' });
  close(avg[0]! + avg[1]!, 2000);
  assert.ok(Math.abs(avg[0]! - 1000) < 0.3, `average ${avg[0]}`);
});

test('Bradley–Terry MLE: 3 wins in 4 games gives a 400·log10(3) gap', () => {
  const games: Game[] = [
    { a: 0, b: 1, score: 1 },
    { a: 0, b: 1, score: 1 },
    { a: 1, b: 0, score: 0 },
    { a: 0, b: 1, score: 0 },
  ];
  const fit = bradleyTerry(winMatrix(games, 2), 2, { prior: 0 });
  assert.ok(fit.converged);
  close(fit.ratings[0]! - fit.ratings[1]!, 190.84850188786498, 1e-5);
  close(fit.ratings[0]! + fit.ratings[1]!, 2000, 1e-9);
  // two ties count as one win and one loss: same gap
  const ties = bradleyTerry(
    winMatrix(
      [
        { a: 0, b: 1, score: 1 },
        { a: 0, b: 1, score: 0.5 },
        { a: 0, b: 1, score: 0.5 },
        { a: 0, b: 1, score: 1 },
      ],
      2,
    ),
    2,
    { prior: 0 },
  );
  close(ties.ratings[0]! - ties.ratings[1]!, 190.84850188786498, 1e-5);
  // the default prior (one virtual tie per pair) shrinks it to 400·log10(3.5/1.5)
  const shrunk = bradleyTerry(winMatrix(games, 2), 2);
  close(shrunk.ratings[0]! - shrunk.ratings[1]!, 147.19071411783779, 1e-5);
});

test('Bradley–Terry: a balanced cycle rates everyone equal; an unbeaten player needs the prior', () => {
  const cycle: Game[] = [
    { a: 0, b: 1, score: 1 },
    { a: 1, b: 2, score: 1 },
    { a: 2, b: 0, score: 1 },
  ];
  const fit = bradleyTerry(winMatrix(cycle, 3), 3, { prior: 0 });
  for (const r of fit.ratings) close(r, 1000, 1e-6);
  const sweep = winMatrix([{ a: 0, b: 1, score: 1 }], 2);
  assert.throws(() => bradleyTerry(sweep, 2, { prior: 0 }), /player 1 never wins or ties/);
  assert.ok(bradleyTerry(sweep, 2).converged);
});

/** Games between players of known Elo strength: `perPair` games for every pair, no ties. */
function simulate(truth: number[], perPair: number, rng: Rng): Game[] {
  const games: Game[] = [];
  for (let i = 0; i < truth.length; i++) {
    for (let j = i + 1; j < truth.length; j++) {
      for (let g = 0; g < perPair; g++) {
        games.push({ a: i, b: j, score: rng.next() < expectedScore(truth[i]!, truth[j]!) ? 1 : 0 });
      }
    }
  }
  return games;
}

test('Bradley–Terry recovers known strengths; sequential Elo ranks them correctly', () => {
  // truth has mean 1000; 1500 games per pair gives ≈ 6 Elo points of standard error per player
  const truth = [850, 1000, 1050, 1100];
  const games = simulate(truth, 1500, new Rng(42));
  const bt = bradleyTerry(winMatrix(games, 4), 4);
  assert.ok(bt.converged);
  bt.ratings.forEach((r, i) => {
    assert.ok(Math.abs(r - truth[i]!) < 25, `player ${i}: ${r} vs ${truth[i]}`);
  });
  const seq = sequentialElo(games, 4, { label: 'sim', permutations: 10 });
  assert.equal(
    Array.from(seq.keys()).sort((x, y) => seq[x]! - seq[y]!),
    [0, 1, 2, 3],
  );
  seq.forEach((r, i) => {
    assert.ok(Math.abs(r - truth[i]!) < 50, `sequential ${i}: ${r}`);
  });
});

test('gamesFromScores: one game per pair per row, ties within tieEps', () => {
  const games = gamesFromScores([
    [1, 0.5],
    [0, 0.5],
    [0.5, 0.9],
  ]);
  assert.equal(games, [
    { a: 0, b: 1, score: 1 },
    { a: 0, b: 2, score: 1 },
    { a: 1, b: 2, score: 0 },
    { a: 0, b: 1, score: 0.5 },
    { a: 0, b: 2, score: 0 },
    { a: 1, b: 2, score: 0 },
  ]);
});

test('eloFromScores: hand-computed BT gap, CIs, determinism', () => {
  // A beats B on 3 rows of 4 → default prior gives a 147.19-point gap
  const res = eloFromScores(
    { pit_1: [1, 1, 1, 0], self_refine_1: [0, 0, 0, 1] },
    { resamples: 200, label: 'two' },
  );
  assert.equal(res.players, ['pit_1', 'self_refine_1']);
  assert.is(res.rows, 4);
  assert.is(res.games, 4);
  close(res.rating[0]! - res.rating[1]!, 147.19071411783779, 1e-5);
  res.rating.forEach((r, i) => {
    assert.ok(res.ci95[i]![0] <= r && r <= res.ci95[i]![1]);
  });
  assert.equal(
    eloFromScores(
      { pit_1: [1, 1, 1, 0], self_refine_1: [0, 0, 0, 1] },
      { resamples: 200, label: 'two' },
    ),
    res,
  );
});

test('eloFromScores on simulated iterations: ratings track quality, CIs cover equal players', () => {
  // three systems whose per-row scores are noisy around 0.4, 0.4 and 0.6
  const rng = new Rng(9);
  const rows = 300;
  const mk = (mu: number) => Array.from({ length: rows }, () => mu + 0.3 * rng.normal());
  const players = { original: mk(0.4), resample: mk(0.4), pit: mk(0.6) };
  for (const method of ['bt', 'sequential'] as const) {
    const res = eloFromScores(players, { method, resamples: 200, label: method });
    assert.is(res.games, rows * 3);
    const [o, r, p] = res.rating as [number, number, number];
    assert.ok(p > o + 50 && p > r + 50, `${method}: ${res.rating}`);
    const [co, cr] = res.ci95 as [[number, number], [number, number]];
    assert.ok(co[0] < cr[1] && cr[0] < co[1], `${method}: equal players' CIs overlap`);
    assert.ok(res.ci95[2]![0] > Math.max(co[1], cr[1]), `${method}: pit's CI is above both`);
    close((o + r + p) / 3, 1000, 1e-6);
  }
  assert.throws(() => eloFromScores({ a: [1, 2], b: [1] }), /player 'b' has 1 rows/);
  assert.throws(() => eloFromScores({ a: [1] }), /at least two players/);
});

test.run();
