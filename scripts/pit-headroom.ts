/**
 * Why PIT RL does not lift M_PIT^SFT: separates "no signal at the rollout temperature", "no
 * headroom in the improver's own samples", "the RL optimiser" and "what the model can learn" on
 * the real task. Validation prompts only for every judged figure; test is never read.
 *
 * A (headroom): for validation prompts × `draws` responses y_0 ~ M_P^RL, M_PIT^SFT samples a group
 *   of `group` improvements at each temperature. Per temperature: the exact judge's mean, the mean
 *   of each group's best (what reweighting the improver's own samples could reach), the share of
 *   groups whose scores are all equal (a group baseline gets no advantage there), the distinct
 *   responses per group, and the share of improvements that copy y_0.
 * C (constraints): pass rate of each constraint for the data's y_w and y_l, and for M_PIT^SFT's
 *   samples and their group best on training prompts (y_ref = y_l) and validation prompts.
 * B (expert iteration: critic-free RL that needs no gradient estimate): on `prompts` training
 *   prompts with y_ref ~ M_P^RL as round 1 draws them, the policy samples a group at `rolloutT`; a
 *   selector keeps each group's best when it beats y_ref, and the policy is fine-tuned on the kept
 *   (x, y_ref) → y. Selectors: 'oracle' (the exact judge), 'perfect' (the judge, keeping only
 *   responses that meet every constraint) and 'rpit' (R_PIT's gap); 'yw' is the control that
 *   fine-tunes on the data's (x, y_l) → y_w for the same steps. The result improves the
 *   validation y_0 once at the inference temperature and is judged against M_PIT^SFT, and its fit
 *   on the prompts it was trained on is shown constraint by constraint.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/pit-headroom.ts [draws=2] [group=8] [prompts=1024]
 *     [rolloutT=0.7] [lr=1e-4] [epochs=2] [selectors=oracle,rpit] [iterations=1] [parts=A,B]
 *     [steps=0 (by epochs)] [schedule=constant|cosine]
 */
import { constraintPassRates, judge } from '../src/data/synth/judge';
import { compare, meanWithCi } from '../src/eval';
import { notebookSettings, resolvePipelineConfig } from '../src/index';
import type { Gpt } from '../src/models';
import { generate, improveOnce, respond, scoreGap } from '../src/pit/generate';
import { loadPolicy, loadReward, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { policyPrompt, responseIds } from '../src/train/batches';
import { meanOf, stdOf } from '../src/train/loop';
import { sftExamples, trainSft } from '../src/train/sft';
import { cachedStages, configOverrides } from './cached-stages';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const repeat = <T>(xs: readonly T[], k: number): T[] =>
  xs.flatMap((x) => Array.from({ length: k }, () => x));
const scores = (xs: readonly string[], ys: readonly string[]) =>
  xs.map((x, i) => judge(x, ys[i]!).score);

type Context = ReturnType<typeof load>;

function load(draws: number) {
  const settings = notebookSettings();
  const config = resolvePipelineConfig(settings.profile, configOverrides());
  const dirs = cachedStages(settings, ['tokenizer', 'rm_rpit', 'rl_mp', 'sft_pit']);
  const tok = readTokenizer(dirs.tokenizer!);
  const splits = readSplits(dirs.tokenizer!);
  const gen = { maxNewTokens: config.improve.maxNewTokens, batchSize: 128 };
  const sampler = loadPolicy(dirs.rl_mp!);
  // Validation y_0, as the evaluation draws them.
  const xs = Array.from({ length: draws }, () => splits.valid.map((p) => p.prompt)).flat();
  const y0 = respond(sampler, tok, xs, {
    ...gen,
    temperature: config.improve.responseTemperature,
    rng: runtime.rng('headroom.y0'),
  });
  return {
    settings,
    improve: config.improve,
    gen,
    tok,
    splits,
    sftDir: dirs.sft_pit!,
    rpit: loadReward(dirs.rm_rpit!),
    sampler,
    sft: loadPolicy(dirs.sft_pit!),
    xs,
    y0,
    groups: Int32Array.from(xs, (_, i) => i % splits.valid.length),
  };
}

/** `group` samples of `model` per query, as text (query-major). */
function sampleGroups(
  c: Context,
  model: Gpt,
  queries: number[][],
  group: number,
  T: number,
  stream: string,
) {
  return generate(model, c.tok, repeat(queries, group), {
    ...c.gen,
    temperature: T,
    rng: runtime.rng(stream),
  });
}

/** The index of the best-scoring member of each group of `group` consecutive scores. */
function groupBest(s: ArrayLike<number>, group: number): number[] {
  return Array.from({ length: s.length / group }, (_, g) => {
    let top = g * group;
    for (let j = top + 1; j < (g + 1) * group; j++) if (s[j]! > s[top]!) top = j;
    return top;
  });
}

/** Part A at one temperature. */
function headroomAt(c: Context, T: number, group: number): void {
  const queries = c.xs.map((x, i) => policyPrompt(c.tok, x, c.y0[i]!));
  const ys = sampleGroups(c, c.sft, queries, group, T, `headroom.a.${T}`);
  const s = scores(repeat(c.xs, group), ys);
  const n = c.xs.length;
  let [flat, distinct, copies] = [0, 0, 0];
  for (let g = 0; g < n; g++) {
    flat += stdOf(s.slice(g * group, (g + 1) * group)) === 0 ? 1 : 0;
    const members = ys.slice(g * group, (g + 1) * group);
    distinct += new Set(members).size;
    copies += members.filter((y) => y === c.y0[g]).length;
  }
  const best = meanOf(groupBest(s, group).map((i) => s[i]!));
  console.log(
    `A T=${T}: judge ${meanOf(s).toFixed(3)}, best of ${group} ${best.toFixed(3)}, flat groups ${pct(flat / n)}, distinct ${(distinct / n).toFixed(2)}/${group}, copies of y_0 ${pct(copies / (n * group))}`,
  );
}

/** Pass rate of each constraint over (x, y) rows, as one printed line. */
function constraintRates(label: string, xs: readonly string[], ys: readonly string[]): void {
  const cells = constraintPassRates(xs, ys).map((r) => `${r.kind} ${r.rate.toFixed(2)}`);
  console.log(
    `C ${label.padEnd(30)} judge ${meanOf(scores(xs, ys)).toFixed(3)}: ${cells.join(', ')}`,
  );
}

/** `model`'s samples at the inference temperature (and their group best) on (x, y_ref) rows. */
function fit(c: Context, model: Gpt, label: string, px: string[], refs: string[], group: number) {
  const queries = px.map((x, i) => policyPrompt(c.tok, x, refs[i]!));
  const ys = sampleGroups(c, model, queries, group, c.improve.temperature, `headroom.c.${label}`);
  constraintRates(label, repeat(px, group), ys);
  if (group === 1) return;
  const best = groupBest(scores(repeat(px, group), ys), group).map((i) => ys[i]!);
  constraintRates(`${label}, best of ${group}`, px, best);
}

function partC(c: Context, group: number): void {
  const v = c.splits.valid;
  const tr = c.splits.train.slice(0, 400);
  constraintRates(
    'valid y_w',
    v.map((p) => p.prompt),
    v.map((p) => p.chosen),
  );
  constraintRates(
    'valid y_l',
    v.map((p) => p.prompt),
    v.map((p) => p.rejected),
  );
  constraintRates(
    'train y_w',
    tr.map((p) => p.prompt),
    tr.map((p) => p.chosen),
  );
  fit(
    c,
    c.sft,
    'M_PIT^SFT train (y_l)',
    tr.map((p) => p.prompt),
    tr.map((p) => p.rejected),
    group,
  );
  fit(c, c.sft, 'M_PIT^SFT valid (y_0)', c.xs, c.y0, group);
}

interface ExpertIteration {
  /** 'yw' is the control: more SFT on the data's (x, y_l) → y_w, nothing sampled or selected. */
  selector: 'oracle' | 'perfect' | 'rpit' | 'yw';
  prompts: number;
  group: number;
  rolloutT: number;
  lr: number;
  epochs: number;
  iterations: number;
  /** Optimizer steps per iteration; 0 = `epochs` passes over the kept rows. */
  steps: number;
  /** 'constant' (no warmup) or the pipeline's SFT schedule ('cosine', 20 warmup steps). */
  schedule: 'constant' | 'cosine';
}

/** One iteration's rows: each group's best that beats y_ref, or the data's pairs for 'yw'. */
function distillationRows(
  c: Context,
  policy: Gpt,
  o: ExpertIteration,
  train: string[],
  it: number,
) {
  if (o.selector === 'yw') {
    return { examples: sftExamples(c.tok, c.splits.train, 'mpit'), refs: [] as string[] };
  }
  const refs = respond(c.sampler, c.tok, train, {
    ...c.gen,
    temperature: c.improve.responseTemperature,
    rng: runtime.rng(`headroom.ref.${it}`),
  });
  const queries = train.map((x, i) => policyPrompt(c.tok, x, refs[i]!));
  const stream = `headroom.roll.${o.selector}.${it}`;
  const ys = sampleGroups(c, policy, queries, o.group, o.rolloutT, stream);
  const [rx, rref] = [repeat(train, o.group), repeat(refs, o.group)];
  const gap =
    o.selector === 'rpit'
      ? scoreGap(c.rpit, c.tok, rx, ys, rref)
      : Float32Array.from(rx, (x, i) => judge(x, ys[i]!).score - judge(x, rref[i]!).score);
  const keep = (i: number) =>
    gap[i]! > 0 && (o.selector !== 'perfect' || judge(rx[i]!, ys[i]!).score === 1);
  const examples = groupBest(gap, o.group)
    .filter(keep)
    .map((i) => ({
      prompt: queries[Math.floor(i / o.group)]!,
      response: responseIds(c.tok, ys[i]!),
    }));
  return { examples, refs };
}

/** Part B: returns the fine-tuned policy and the distillation rows of its last iteration. */
async function expertIteration(c: Context, o: ExpertIteration) {
  runtime.seed(c.settings.seed);
  const policy = loadPolicy(c.sftDir);
  const train = c.splits.train.slice(0, o.prompts).map((p) => p.prompt);
  let refs: string[] = [];
  let kept = 0;
  for (let it = 0; it < o.iterations; it++) {
    const rows = distillationRows(c, policy, o, train, it);
    refs = rows.refs;
    kept = rows.examples.length;
    if (kept === 0) {
      console.log(`B ${o.selector}: iteration ${it} kept no rows; the policy is left as it was`);
      break;
    }
    const batchSize = 32;
    await trainSft(
      { policy },
      { train: rows.examples },
      {
        stage: `headroom.${o.selector}.${it}`,
        maxSteps: o.steps || Math.max(1, Math.ceil((o.epochs * kept) / batchSize)),
        batchSize,
        lr: o.lr,
        lrSchedule: o.schedule,
        warmupSteps: o.schedule === 'constant' ? 0 : 20,
        evalEvery: 0,
        checkpointEvery: 0,
      },
    );
  }
  return { policy, kept, train, refs };
}

async function main(): Promise<void> {
  await runtime.ready();
  const num = (i: number, fallback: number) => Number(process.argv[i] ?? fallback);
  const group = num(3, 8);
  const selectors = (process.argv[8] ?? 'oracle,rpit').split(',') as ExpertIteration['selector'][];
  const parts = (process.argv[10] ?? 'A,B').split(',');
  const schedule = (process.argv[12] ?? 'constant') as ExpertIteration['schedule'];
  if (!['constant', 'cosine'].includes(schedule))
    throw new Error(`schedule: expected 'constant' or 'cosine', got '${schedule}'`);
  const c = load(num(2, 2));
  const { settings, improve } = c;
  console.log(
    `${settings.profile} profile, seed ${settings.seed}: ${c.splits.valid.length} validation prompts, ${c.xs.length} y_0 (judge ${meanOf(scores(c.xs, c.y0)).toFixed(3)}); groups of ${group}`,
  );
  if (parts.includes('A')) for (const T of [improve.temperature, 0.7, 1.0]) headroomAt(c, T, group);
  if (parts.includes('C')) partC(c, group);
  if (parts.includes('B')) {
    const judged = (model: Gpt, label: string) => {
      const stream = runtime.rng(`headroom.eval.${label}`);
      const ys = improveOnce(model, c.tok, c.xs, c.y0, {
        ...c.gen,
        temperature: improve.temperature,
        rng: stream,
      });
      return { q: scores(c.xs, ys), ys };
    };
    const base = judged(c.sft, 'sft');
    constraintRates(`B M_PIT^SFT valid at T=${improve.temperature}`, c.xs, base.ys);
    for (const selector of selectors) {
      const started = performance.now();
      const o: ExpertIteration = {
        selector,
        group,
        prompts: num(4, 1024),
        rolloutT: num(5, 0.7),
        lr: num(6, 1e-4),
        epochs: num(7, 2),
        iterations: num(9, 1),
        steps: num(11, 0),
        schedule,
      };
      const { policy, kept, train, refs } = await expertIteration(c, o);
      const after = judged(policy, selector);
      const m = meanWithCi(after.q, {
        groups: c.groups,
        rng: runtime.rng(`headroom.mean.${selector}`),
      });
      const d = compare(after.q, base.q, {
        groups: c.groups,
        rng: runtime.rng(`headroom.cmp.${selector}`),
      });
      console.log(
        `B ${selector} best of ${group} at T=${o.rolloutT}, ${o.iterations} iteration(s), ${kept}/${train.length} kept, lr ${o.lr} × ${o.steps ? `${o.steps} steps` : `${o.epochs} epochs`} (${o.schedule}): judge ${m.mean.toFixed(3)} [${m.ci95[0].toFixed(3)}, ${m.ci95[1].toFixed(3)}]; vs M_PIT^SFT Δ ${pct(d.delta)} [${pct(d.ci95[0])}, ${pct(d.ci95[1])}]; ${((performance.now() - started) / 1000).toFixed(0)} s`,
      );
      constraintRates(`B ${selector} valid`, c.xs, after.ys);
      const n = Math.min(400, refs.length); // 'yw' samples no references
      const [px, pr] = [train.slice(0, n), refs.slice(0, n)];
      if (n > 0) fit(c, c.sft, 'B M_PIT^SFT on its distillation x', px, pr, 1);
      if (n > 0) fit(c, policy, `B ${selector} on its distillation x`, px, pr, 1);
      policy.dispose();
    }
  }
  for (const m of [c.rpit, c.sampler, c.sft]) m.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
