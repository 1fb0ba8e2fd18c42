/**
 * Whether the improver's misses are a matter of model size: M_PIT trained by SFT on
 * (x, y_l) → y_w from scratch at a given size, with the profile's improver SFT settings, then
 * judged as the evaluation judges it (validation prompts × `draws` y_0 ~ M_P^RL, one improvement at
 * the inference temperature) constraint by constraint, against the cached M_PIT^SFT (the profile's
 * size, started from M_P^SFT). With `from` = 'sft_pit' the SFT continues from M_PIT^SFT instead
 * (sizes ignored): whether more of the same training helps. Test prompts are never read.
 *
 *   PITLAB_PROFILE=default npx tsx scripts/improver-capacity.ts [nLayer] [nHead] [nEmbd] [steps]
 *     [draws=2] [from=scratch|sft_pit]
 *
 * Sizes default to the profile's model; steps to its `sftImprover.maxSteps`.
 */
import { constraintPassRates, judge } from '../src/data/synth/judge';
import { compare, meanWithCi } from '../src/eval';
import { notebookSettings, resolvePipelineConfig } from '../src/index';
import { Gpt } from '../src/models';
import { trainSettings } from '../src/pit/config';
import { improveOnce, respond } from '../src/pit/generate';
import { loadPolicy, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';
import { sftExamples, trainSft } from '../src/train/sft';
import { cachedStages, configOverrides } from './cached-stages';

/** Pass rate of each constraint over (x, y) rows, as one line. */
const constraintLine = (xs: readonly string[], ys: readonly string[]) =>
  constraintPassRates(xs, ys)
    .map((r) => `${r.kind} ${r.rate.toFixed(2)}`)
    .join(', ');

async function main(): Promise<void> {
  await runtime.ready();
  const settings = notebookSettings();
  const config = resolvePipelineConfig(settings.profile, configOverrides());
  const arg = (i: number) => (process.argv[i] === undefined ? undefined : Number(process.argv[i]));
  const size = {
    ...config.model,
    nLayer: arg(2) ?? config.model.nLayer,
    nHead: arg(3) ?? config.model.nHead,
    nEmbd: arg(4) ?? config.model.nEmbd,
  };
  const steps = arg(5) ?? config.sftImprover.maxSteps;
  const draws = arg(6) ?? 2;
  const dirs = cachedStages(settings, ['tokenizer', 'rl_mp', 'sft_pit']);
  const tok = readTokenizer(dirs.tokenizer!);
  const splits = readSplits(dirs.tokenizer!);
  const { temperature, responseTemperature, maxNewTokens } = config.improve;

  runtime.seed(settings.seed);
  const from = process.argv[7] ?? 'scratch';
  if (!['scratch', 'sft_pit'].includes(from))
    throw new Error(`from: expected 'scratch' or 'sft_pit', got '${from}'`);
  const model =
    from === 'sft_pit'
      ? loadPolicy(dirs.sft_pit!)
      : new Gpt({ ...size, vocabSize: tok.vocabSize }, undefined, 'capacity.init');
  const params = model.variables().reduce((n, v) => n + v.size, 0);
  const started = performance.now();
  const result = await trainSft(
    { policy: model },
    { train: sftExamples(tok, splits.train, 'mpit'), eval: sftExamples(tok, splits.valid, 'mpit') },
    { ...trainSettings({ ...config.sftImprover, maxSteps: steps }, '', 'capacity'), outDir: '' },
  );
  const seconds = (performance.now() - started) / 1000;

  const sampler = loadPolicy(dirs.rl_mp!);
  const sft = loadPolicy(dirs.sft_pit!);
  const xs = Array.from({ length: draws }, () => splits.valid.map((p) => p.prompt)).flat();
  const groups = Int32Array.from(xs, (_, i) => i % splits.valid.length);
  const gen = { maxNewTokens, batchSize: 128 };
  const y0 = respond(sampler, tok, xs, {
    ...gen,
    temperature: responseTemperature,
    rng: runtime.rng('capacity.y0'),
  });
  const improved = (m: Gpt, label: string) =>
    improveOnce(m, tok, xs, y0, { ...gen, temperature, rng: runtime.rng(`capacity.y1.${label}`) });
  const [yBase, yNew] = [improved(sft, 'base'), improved(model, 'new')];
  const q = (ys: string[]) => xs.map((x, i) => judge(x, ys[i]!).score);
  const [qBase, qNew] = [q(yBase), q(yNew)];
  const m = meanWithCi(qNew, { groups, rng: runtime.rng('capacity.mean') });
  const d = compare(qNew, qBase, { groups, rng: runtime.rng('capacity.cmp') });
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(
    `${settings.profile} profile, seed ${settings.seed}; ${xs.length} validation improvements at T=${temperature}`,
  );
  console.log(`M_PIT^SFT (profile size, from M_P^SFT): ${constraintLine(xs, yBase)}`);
  console.log(
    `${from === 'sft_pit' ? 'M_PIT^SFT trained on,' : 'from scratch'} ${model.config.nLayer} layers × ${model.config.nHead} heads × ${model.config.nEmbd} (${params} parameters), ${steps} steps in ${seconds.toFixed(0)} s, eval loss ${result.lastEval?.eval_loss?.toFixed(3)}: judge ${m.mean.toFixed(3)} [${m.ci95[0].toFixed(3)}, ${m.ci95[1].toFixed(3)}], vs M_PIT^SFT Δ ${pct(d.delta)} [${pct(d.ci95[0])}, ${pct(d.ci95[1])}]`,
  );
  console.log(`  ${constraintLine(xs, yNew)}`);
  for (const g of [model, sampler, sft]) g.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
