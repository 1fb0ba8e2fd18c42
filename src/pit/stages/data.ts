/**
 * The data stages: `data` draws the train/valid/test splits (the bundled synthetic task, or a
 * preference file split 80/10/10 by the seed); `tokenizer` fits the tokenizer and, on real text,
 * cuts every pair to fit the context.
 */
import {
  BpeTokenizer,
  generateSynthetic,
  loadPreferences,
  loadRefineDemos,
  loadSynthetic,
  type Tokenizer,
  WordTokenizer,
} from '../../data';
import { type Format, guessFormat } from '../../data/load';
import { runtime } from '../../runtime';
import type { Pair } from '../../train/reward';
import type { PipelineConfig } from '../config';
import { FILES, readSplits, type Splits, writeJson } from './artifacts';
import type { PipelineStage } from './common';

const pick = (r: Pair): Pair => ({ prompt: r.prompt, chosen: r.chosen, rejected: r.rejected });

/**
 * The synthetic task's splits: the committed valid/test files, and the committed training pairs
 * or a larger draw of the generator seeded by the run's seed (minus any held-out prompt).
 */
async function syntheticSplits(c: PipelineConfig['data'], seed: number): Promise<Splits> {
  const cap = <T>(rows: T[]) => (c.maxTrain > 0 ? rows.slice(0, c.maxTrain) : rows);
  const [train, valid, test] = await Promise.all(
    (['train', 'valid', 'test'] as const).map((s) => loadSynthetic(s)),
  );
  const heldOut = [...valid!.toRecords(), ...test!.toRecords()].map(pick);
  let trainRows = train!.toRecords().map(pick);
  const seen = new Set(heldOut.map((p) => p.prompt));
  // Self-Refine's demonstrations never show a held-out prompt, whichever profile.
  let refine = (await loadRefineDemos()).filter((d) => !seen.has(d.prompt));
  if (c.synthSize > 0) {
    // Evaluation stays on unseen prompts: generated pairs never reuse a valid/test prompt.
    const gen = generateSynthetic({
      seed: 1000 + seed,
      size: c.synthSize,
      nearShare: c.nearShare,
      nearKinds: c.nearKinds,
    });
    trainRows = gen.pairs
      .toRecords()
      .map(pick)
      .filter((p) => !seen.has(p.prompt));
    refine = gen.demos.filter((d) => !seen.has(d.prompt));
  }
  const splits: Splits = {
    train: cap(trainRows),
    valid: valid!.toRecords().map(pick),
    test: test!.toRecords().map(pick),
    refine: cap(refine),
    synthetic: true,
  };
  if (c.judgeSize > 0) {
    // The judge's data: another draw of the generator (its own seed), sharing no prompt with the
    // policy's training pairs or the evaluation prompts.
    const used = new Set([...seen, ...splits.train.map((p) => p.prompt)]);
    const gen = generateSynthetic({ seed: 2000 + seed, size: c.judgeSize, refineSize: 0 });
    splits.judge = gen.pairs
      .toRecords()
      .map(pick)
      .filter((p) => !used.has(p.prompt));
  }
  return splits;
}

/** A preference file's splits, 80/10/10 by the run's seed. */
async function fileSplits(c: PipelineConfig['data'], seed: number): Promise<Splits> {
  const cap = <T>(rows: T[]) => (c.maxTrain > 0 ? rows.slice(0, c.maxTrain) : rows);
  const format = (c.format ?? guessFormat(c.source)) as Format;
  const { data } = await loadPreferences(c.source, { format });
  runtime.seed(seed);
  const parts = data.split({ seed, fractions: { train: 0.8, valid: 0.1, test: 0.1 } });
  return {
    train: cap(parts.train!.toRecords().map(pick)),
    valid: parts.valid!.toRecords().map(pick),
    test: parts.test!.toRecords().map(pick),
    refine: [],
    synthetic: false,
  };
}

/**
 * Token-level truncation for real text, so every layout (up to x, y_ref and y together) fits the
 * context: prompts keep their end, responses their start. Re-encoding decoded text can add tokens
 * (a cut inside a multi-byte character decodes to U+FFFD), so each cut is checked and shortened.
 */
function fitPair(tok: Tokenizer, p: Pair, blockSize: number): Pair {
  const budget = Math.floor((blockSize - 6) / 3);
  const fit = (ids: number[], keepEnd: boolean): string => {
    for (let k = Math.min(budget, ids.length); k >= 0; k--) {
      const text = tok.decode(keepEnd ? ids.slice(ids.length - k) : ids.slice(0, k));
      if (tok.encode(text).length <= budget) return text;
    }
    return '';
  };
  return {
    prompt: fit(tok.encode(p.prompt), true),
    chosen: fit(tok.encode(p.chosen), false),
    rejected: fit(tok.encode(p.rejected), false),
  };
}

const dataStage: PipelineStage = {
  name: 'data',
  deps: {},
  config: (c) => [c.data],
  artifacts: [FILES.splits],
  async run(ctx) {
    const c = ctx.config.data;
    const splits =
      c.source === 'synthetic' ? await syntheticSplits(c, ctx.seed) : await fileSplits(c, ctx.seed);
    writeJson(ctx.outDir, FILES.splits, splits);
  },
};

const tokenizerStage: PipelineStage = {
  name: 'tokenizer',
  deps: { data: 'data' },
  config: (c) => [c.model.vocabSize, c.model.blockSize],
  artifacts: [FILES.tokenizer, FILES.splits],
  async run(ctx) {
    const splits = readSplits(ctx.inputs.data!);
    let tok: Tokenizer;
    if (splits.synthetic) {
      tok = WordTokenizer.synthetic();
    } else {
      const texts = splits.train.flatMap((p) => [p.prompt, p.chosen, p.rejected]);
      tok = BpeTokenizer.train(texts, {
        vocabSize: Math.max(300, ctx.config.model.vocabSize ?? 512),
      });
      const block = ctx.config.model.blockSize ?? 80;
      for (const key of ['train', 'valid', 'test'] as const) {
        splits[key] = splits[key].map((p) => fitPair(tok, p, block));
      }
    }
    writeJson(ctx.outDir, FILES.tokenizer, tok.toJSON());
    writeJson(ctx.outDir, FILES.splits, splits);
  },
};

export const dataStages: PipelineStage[] = [dataStage, tokenizerStage];
