/**
 * Where R_P and R_PIT rank held-out pairs wrongly on the synthetic task: accuracy against the
 * exact judge, split by the judge's score margin and by which constraints tell the two responses
 * apart. Then R_P on the distribution RLHF shows it: two samples of M_P^SFT per held-out prompt
 * (at temperature 1, PPO's rollouts, and 0.4, the evaluation's), ranked against the judge.
 * Reads the cached stages of the profile in PITLAB_PROFILE (run `pitlab run` first).
 *
 *   PITLAB_PROFILE=default npx tsx scripts/reward-errors.ts
 */
import { judgeTask } from '../src/data/synth/judge';
import { parsePrompt } from '../src/data/synth/task';
import { notebookRun } from '../src/index';
import { respond, scoreRp } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { rewardRows, scoreRows } from '../src/train/reward';

type Tally = Map<string, { right: number; n: number }>;

function count(t: Tally, key: string, right: boolean): void {
  const e = t.get(key) ?? { right: 0, n: 0 };
  e.right += right ? 1 : 0;
  e.n += 1;
  t.set(key, e);
}

function print(title: string, t: Tally): void {
  console.log(`  ${title}`);
  for (const [key, { right, n }] of [...t].sort()) {
    console.log(
      `    ${key.padEnd(22)} n=${String(n).padStart(4)}  accuracy ${(right / n).toFixed(3)}`,
    );
  }
}

async function main(): Promise<void> {
  await runtime.ready();
  const run = await notebookRun();
  const tok = readTokenizer(run.dirs.tokenizer!);
  const splits = readSplits(run.dirs.tokenizer!);
  const pairs = [...splits.valid, ...splits.test];
  console.log(`${run.settings.profile} profile, ${pairs.length} held-out pairs (valid + test)`);
  for (const stage of ['rm_rp', 'rm_rpit'] as const) {
    const rm = loadReward(run.dirs[stage]!);
    const s = scoreRows(rm, rewardRows(rm, tok, pairs));
    const n = pairs.length;
    // R_P: r(w) > r(l); R_PIT: swap accuracy r(w,l) > r(l,w) (rows 0..n and 3n..4n)
    const prefers = (i: number) => (rm.kind === 'rpit' ? s[i]! > s[3 * n + i]! : s[i]! > s[n + i]!);
    const byMargin: Tally = new Map();
    const byConstraint: Tally = new Map();
    let agree = 0;
    pairs.forEach((p, i) => {
      const task = parsePrompt(p.prompt);
      const [w, l] = [judgeTask(task, p.chosen), judgeTask(task, p.rejected)];
      const right = prefers(i) === w.score > l.score;
      agree += right ? 1 : 0;
      const m = Math.abs(w.score - l.score);
      count(
        byMargin,
        m < 0.15
          ? 'margin < 0.15'
          : m < 0.3
            ? 'margin < 0.30'
            : m < 0.5
              ? 'margin < 0.50'
              : 'margin ≥ 0.50',
        right,
      );
      const differ = w.constraints
        .filter((c, k) => c.ok !== l.constraints[k]!.ok)
        .map((c) => c.kind);
      for (const kind of differ)
        count(byConstraint, `${kind}${differ.length === 1 ? ' (only)' : ''}`, right);
      if (differ.length === 1) count(byConstraint, `any (only one)`, right);
    });
    console.log(`${stage}: agrees with the exact judge on ${(agree / n).toFixed(3)} of pairs`);
    print('by judge margin', byMargin);
    print('by constraint that differs', byConstraint);
    rm.dispose();
  }
  const rp = loadReward(run.dirs.rm_rp!);
  const policy = loadPolicy(run.dirs.sft_mp!);
  const xs = pairs.map((p) => p.prompt);
  for (const temperature of [1, 0.4]) {
    const sampleAll = (label: string) =>
      respond(policy, tok, xs, { temperature, maxNewTokens: 24, rng: runtime.rng(label) });
    const [a, b] = [sampleAll('errors.a'), sampleAll('errors.b')];
    const [sa, sb] = [scoreRp(rp, tok, xs, a), scoreRp(rp, tok, xs, b)];
    const byConstraint: Tally = new Map();
    let right = 0;
    let n = 0;
    xs.forEach((x, i) => {
      const task = parsePrompt(x);
      const [ja, jb] = [judgeTask(task, a[i]!), judgeTask(task, b[i]!)];
      if (ja.score === jb.score) return; // no preference to rank
      const ok = sa[i]! > sb[i]! === ja.score > jb.score;
      n += 1;
      right += ok ? 1 : 0;
      const differ = ja.constraints.filter((c, k) => c.ok !== jb.constraints[k]!.ok);
      for (const c of differ) count(byConstraint, c.kind, ok);
    });
    console.log(
      `rm_rp on M_P^SFT's own samples (temperature ${temperature}): ${n} untied pairs, accuracy ${(right / Math.max(1, n)).toFixed(3)}`,
    );
    print('by constraint that differs', byConstraint);
  }
  rp.dispose();
  policy.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
