/**
 * Chooses the improver's inference temperature (`improve.temperature`) on the validation prompts,
 * never on test. Like the evaluation, M_P^RL samples y_0 at `improve.responseTemperature`,
 * `improve.samples` draws per prompt; M_PIT^SFT and M_PIT^RL each improve every y_0 once at each
 * temperature, and the exact judge compares the result with y_0 (Δ = win − lose, with a bootstrap
 * interval over prompts). As a control, M_P^RL itself answers afresh at each temperature: if that
 * gained as much, a lower temperature alone, not the improver, would explain the gain.
 * Reads the cached stages of the profile in PITLAB_PROFILE (run `pitlab run` first).
 *
 *   PITLAB_PROFILE=default npx tsx scripts/improver-temperature.ts [t1,t2,...]
 */
import { judge } from '../src/data/synth/judge';
import { compare } from '../src/eval';
import { notebookRun } from '../src/index';
import { evaluationRows } from '../src/pit/experiments';
import { improveOnce, respond } from '../src/pit/generate';
import { loadPolicy, readSplits, readTokenizer } from '../src/pit/stages';
import { runtime } from '../src/runtime';

async function main(): Promise<void> {
  await runtime.ready();
  const run = await notebookRun();
  const cfg = run.results.config.improve;
  const temperatures = (process.argv[2] ?? '0.05,0.1,0.2,0.3,0.4,0.6').split(',').map(Number);
  const tok = readTokenizer(run.dirs.tokenizer!);
  const prompts = readSplits(run.dirs.tokenizer!).valid.map((p) => p.prompt);
  const { xs, groups } = evaluationRows(prompts, cfg.samples);
  const gen = (temperature: number, label: string) => ({
    temperature,
    maxNewTokens: cfg.maxNewTokens,
    rng: runtime.rng(`improver-temperature/${label}`),
  });
  const policy = loadPolicy(run.dirs.rl_mp!);
  const y0 = respond(policy, tok, xs, gen(cfg.responseTemperature, 'y0'));
  const base = xs.map((x, i) => judge(x, y0[i]!).score);
  console.log(
    `${run.settings.profile} profile: ${prompts.length} validation prompts × ${cfg.samples} draws of y_0 ~ M_P^RL at T=${cfg.responseTemperature} (judge mean ${(base.reduce((a, b) => a + b, 0) / base.length).toFixed(3)})`,
  );
  const improvers = { 'M_PIT^SFT': run.dirs.sft_pit!, 'M_PIT^RL': run.dirs.pit_rl! };
  const rows: Array<Record<string, string>> = [];
  for (const t of temperatures) {
    const row: Record<string, string> = { T: String(t) };
    const judged = (ys: string[], label: string) => {
      const s = xs.map((x, i) => judge(x, ys[i]!).score);
      const c = compare(s, base, {
        groups,
        rng: runtime.rng(`improver-temperature/boot/${label}`),
      });
      const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
      row[label] = `${pct(c.delta)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}]`;
    };
    for (const [name, dir] of Object.entries(improvers)) {
      const model = loadPolicy(dir);
      judged(improveOnce(model, tok, xs, y0, gen(t, `${name}/${t}`)), name);
      model.dispose();
    }
    judged(respond(policy, tok, xs, gen(t, `resample/${t}`)), 'M_P^RL afresh');
    rows.push(row);
    console.log(
      Object.entries(row)
        .map(([k, v]) => `${k} ${v}`)
        .join(' · '),
    );
  }
  policy.dispose();
  console.table(rows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
