/**
 * Where R_P and R_PIT rank held-out pairs wrongly on the synthetic task: accuracy against the
 * exact judge, split by the judge's score margin and by which constraints tell the two responses
 * apart. Reads the cached stages of the profile in PITLAB_PROFILE (run `pitlab run` first).
 *
 *   PITLAB_PROFILE=default npx tsx scripts/reward-errors.ts
 */
import { judgeTask } from '../src/data/synth/judge';
import { parsePrompt } from '../src/data/synth/task';
import { notebookRun } from '../src/index';
import { loadReward, readSplits, readTokenizer } from '../src/pit/stages';
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
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
