/**
 * How many SFT steps do M_P and the improvers need? `section` picks the budget an arm sets:
 *   - `sft` (the default), M_P's SFT: it heads the run's longest chain, and every model but the
 *     judge starts from M_P^SFT;
 *   - `sftImprover`, the improvers' SFT (M_PIT^SFT and the Self-Refine model share it): the
 *     upstream stages are then the same in every arm, and only sft_pit trains again.
 * For each step count given, trains data → tokenizer → sft_mp → rm_rp, rl_mp and sft_pit of the
 * profile in PITLAB_PROFILE with `<section>.maxSteps` set (the stage cache keeps each arm; the
 * profile's own count trains the profile's own stages), then scores, on validation only:
 *   - M_P^SFT's eval loss and R_P's accuracy on the validation pairs (from the stages' summaries);
 *   - y_0 ~ M_P^RL for `improve.samples` draws of each validation prompt, as the evaluation samples
 *     it, and M_PIT^SFT's improvement of it (Δ = win − lose, a cluster bootstrap over prompts);
 *   - each M_PIT^SFT's improvement of the first arm's y_0, so the improvers compare on the same
 *     responses, and each against the arm before it on those responses (`vsPrevious`).
 * Test prompts are never read. Train the arms in parallel, one process each with `train`, then
 * score them together:
 *
 *   PITLAB_PROFILE=default npx tsx scripts/sft-steps.ts train 1600
 *   PITLAB_PROFILE=default npx tsx scripts/sft-steps.ts score 2400,1600,1200
 *   PITLAB_PROFILE=default npx tsx scripts/sft-steps.ts score 1200,2400,3600 sftImprover
 */
import { judge } from '../src/data/synth/judge';
import { compare, meanWithCi } from '../src/eval';
import { notebookSettings, resolvePipelineConfig, runStages } from '../src/index';
import { evaluationRows } from '../src/pit/experiments';
import { improveOnce, respond } from '../src/pit/generate';
import { loadPolicy, readSplits, readSummary, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';

const STAGES = ['rm_rp', 'rl_mp', 'sft_pit'];
const SECTIONS = ['sft', 'sftImprover'];

async function main(): Promise<void> {
  const [mode, list, section = 'sft'] = process.argv.slice(2);
  const steps = (list ?? '').split(',').map(Number);
  if (
    !['train', 'score'].includes(mode ?? '') ||
    steps.some((n) => !Number.isInteger(n) || n < 1) ||
    !SECTIONS.includes(section)
  ) {
    throw new Error('usage: sft-steps.ts train|score <steps>[,<steps>...] [sft|sftImprover]');
  }
  const { profile, seed, cacheDir } = notebookSettings();
  const arm = (maxSteps: number) => ({
    profile,
    seed,
    cacheDir,
    jobs: 1,
    overrides: { [section]: { maxSteps } },
  });
  if (mode === 'train') {
    for (const n of steps) await runStages(arm(n), STAGES);
    return;
  }
  const cfg = resolvePipelineConfig(profile, {}).improve;
  let firstY0: string[] | undefined;
  let previous: string[] | undefined;
  for (const n of steps) {
    const { dirOf } = await runStages(arm(n), STAGES);
    const tok = readTokenizer(dirOf('tokenizer'));
    const prompts = readSplits(dirOf('tokenizer')).valid.map((p) => p.prompt);
    const { xs, groups } = evaluationRows(prompts, cfg.samples);
    const gen = (temperature: number, label: string) => ({
      temperature,
      maxNewTokens: cfg.maxNewTokens,
      // The stream's name predates the `section` argument; kept so that earlier figures reproduce.
      rng: runtime.rng(`sftmp-steps/${label}`),
    });
    const rl = loadPolicy(dirOf('rl_mp'));
    const y0 = respond(rl, tok, xs, gen(cfg.responseTemperature, 'y0'));
    rl.dispose();
    firstY0 ??= y0;
    const improver = loadPolicy(dirOf('sft_pit'));
    const own = improveOnce(improver, tok, xs, y0, gen(cfg.temperature, 'own'));
    const shared = improveOnce(improver, tok, xs, firstY0, gen(cfg.temperature, 'common'));
    improver.dispose();
    const scores = (ys: string[]) => xs.map((x, i) => judge(x, ys[i]!).score);
    const mean = (ys: string[]) => {
      const m = meanWithCi(scores(ys), { groups, rng: runtime.rng('boot/m') });
      return `${m.mean.toFixed(3)} [${m.ci95[0].toFixed(3)}, ${m.ci95[1].toFixed(3)}]`;
    };
    const delta = (a: string[], b: string[]) => {
      const c = compare(scores(a), scores(b), { groups, rng: runtime.rng('boot/c') });
      const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
      return `${pct(c.delta)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}]`;
    };
    const lastEval = (stage: string) => readSummary<{ lastEval: object }>(dirOf(stage)).lastEval;
    console.log(
      JSON.stringify({
        steps: n,
        sftMp: lastEval('sft_mp'),
        rmRp: lastEval('rm_rp'),
        sftPit: lastEval('sft_pit'),
        y0: mean(y0),
        improved: mean(own),
        delta: delta(own, y0),
        y0First: mean(firstY0),
        improvedFirst: mean(shared),
        deltaFirst: delta(shared, firstY0),
        // Paired against the arm before, on the same y_0: is the extra budget worth anything?
        vsPrevious: previous && delta(shared, previous),
      }),
    );
    previous = shared;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
