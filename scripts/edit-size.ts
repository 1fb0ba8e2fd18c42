/**
 * How large are the improver's edits, and do the reward models read the small ones? M_P^RL answers
 * each validation prompt (`draws` times, as y_0 is sampled) and M_PIT^SFT improves each answer
 * once at its inference temperature. Each (y_0, y_1) is binned by the token edit distance
 * between the two, and in each bin R_PIT's gap and R_P's difference are checked against the exact
 * judge on the rows whose judge score changed (a cluster bootstrap over prompts). The data's own
 * training pairs (y_l, y_w) are binned the same way, for comparison: what the improver learnt to
 * map. Test prompts are never read.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/edit-size.ts [draws=4]
 */
import { distance } from 'fastest-levenshtein';
import type { Tokenizer } from '../src/data';
import { judge } from '../src/data/synth/judge';
import { clusteredEditAgreement } from '../src/eval';
import { notebookSettings, resolvePipelineConfig } from '../src/index';
import { improveOnce, respond, scoreGap } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { cachedStages, configOverrides } from './cached-stages';

/** Upper bounds of the distance bins, in tokens; the last bin is open. */
const BINS = [0, 2, 4, 8, 16];

/** Token edit distance: each token id becomes one character (the vocabulary is small). */
function tokenDistance(tok: Tokenizer, a: string, b: string): number {
  const chars = (s: string) => String.fromCharCode(...tok.encode(s));
  return distance(chars(a), chars(b));
}

const binOf = (d: number) => {
  const i = BINS.findIndex((upper) => d <= upper);
  return i === -1 ? BINS.length : i;
};
const binName = (i: number) =>
  i === 0 ? '0' : i === BINS.length ? `> ${BINS.at(-1)}` : `${BINS[i - 1]! + 1}–${BINS[i]}`;

async function main(): Promise<void> {
  await runtime.ready();
  const { profile, seed, cacheDir } = notebookSettings();
  const config = resolvePipelineConfig(profile, configOverrides());
  const draws = Number(process.argv[2] ?? 4);
  const dirs = cachedStages({ profile, seed, cacheDir }, [
    'tokenizer',
    'rl_mp',
    'sft_pit',
    'rm_rp',
    'rm_rpit',
  ]);
  const tok = readTokenizer(dirs.tokenizer!);
  const splits = readSplits(dirs.tokenizer!);
  const { temperature, responseTemperature, maxNewTokens } = config.improve;
  const prompts = splits.valid.map((p) => p.prompt);
  const xs = Array.from({ length: draws }, () => prompts).flat();
  const groups = Int32Array.from(xs, (_, i) => i % prompts.length);
  const gen = (t: number, label: string) => ({
    temperature: t,
    maxNewTokens,
    rng: runtime.rng(`edit-size/${label}`),
  });
  const y0 = respond(loadPolicy(dirs.rl_mp!), tok, xs, gen(responseTemperature, 'y0'));
  const y1 = improveOnce(loadPolicy(dirs.sft_pit!), tok, xs, y0, gen(temperature, 'y1'));
  const q = (ys: string[]) => xs.map((x, i) => judge(x, ys[i]!).score);
  const [q0, q1] = [q(y0), q(y1)];
  const gains = {
    R_PIT: scoreGap(loadReward(dirs.rm_rpit!), tok, xs, y1, y0),
    R_P: scoreGap(loadReward(dirs.rm_rp!), tok, xs, y1, y0),
  };
  const dist = xs.map((_, i) => tokenDistance(tok, y0[i]!, y1[i]!));
  const dataDist = splits.train.map((p) => tokenDistance(tok, p.rejected, p.chosen));
  console.log(
    `${profile} profile, seed ${seed}: ${prompts.length} validation prompts × ${draws} draws; M_PIT^SFT's y_1 against y_0 ~ M_P^RL, and the data's ${dataDist.length} training pairs (y_l → y_w)`,
  );
  const fmt = (a: { edits: number; accuracy: number; ci95?: [number, number] }) =>
    a.edits === 0
      ? '—'
      : `${a.accuracy.toFixed(3)} [${a.ci95![0].toFixed(3)}, ${a.ci95![1].toFixed(3)}]`;
  for (let b = 0; b <= BINS.length; b++) {
    const rows = xs.map((_, i) => i).filter((i) => binOf(dist[i]!) === b);
    const pick = (v: ArrayLike<number>) => rows.map((i) => v[i]!);
    const agree = (g: Float32Array) =>
      clusteredEditAgreement(pick(q0), pick(q1), pick(g), {
        groups: pick(groups),
        rng: runtime.rng(`edit-size/boot/${b}`),
      });
    const [rpit, rp] = [agree(gains.R_PIT), agree(gains.R_P)];
    const share = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;
    const dataShare = share(dataDist.filter((d) => binOf(d) === b).length, dataDist.length);
    console.log(
      `distance ${binName(b).padEnd(6)} edits ${share(rows.length, xs.length).padStart(6)} (data pairs ${dataShare.padStart(6)}); judge changed ${String(rpit.edits).padStart(4)}; R_PIT ${fmt(rpit)}; R_P ${fmt(rp)}`,
    );
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const length = (ys: string[]) => median(ys.map((y) => tok.encode(y).length));
  console.log(
    `median distance: edits ${median(dist)}, data pairs ${median(dataDist)} tokens; median length: y_0 ${length(y0)}, y_w ${length(splits.train.map((p) => p.chosen))} tokens`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
