/**
 * Self-Refine (Madaan et al., 2023) as the prompting baseline: one model that generates, then
 * critiques its response against the explicit rubric, then refines it given the critique.
 * On the synthetic task the base model is trained on generate + critique + refine demonstrations
 * from the rubric (explicit criteria, which PIT never sees). Layouts, all in one model:
 *
 *   generate: <bos> x <sep>                         → y <eos>   (same as M_P)
 *   critique: <bos> x <sep_ref> y <sep_ref>         → c <eos>
 *   refine:   <bos> x <sep_ref> y <sep_ref> c <sep> → y' <eos>
 */
import { type RefineDemo, SPECIAL_IDS, type Tokenizer } from '../data';
import type { Gpt } from '../models';
import { policyPrompt, responseIds, type SftExample } from '../train/batches';
import { type GenerateOptions, generate } from './generate';

export function critiqueQuery(tok: Tokenizer, x: string, y: string): number[] {
  const { bos, sepRef } = SPECIAL_IDS;
  return [bos, ...tok.encode(x), sepRef, ...tok.encode(y), sepRef];
}

export function refineQuery(tok: Tokenizer, x: string, y: string, critique: string): number[] {
  return [...critiqueQuery(tok, x, y), ...tok.encode(critique), SPECIAL_IDS.sep];
}

/**
 * SFT examples for the Self-Refine model: x → y_w plus each demo's critique and refinement.
 * Examples longer than `blockSize` tokens are left out (a few refine demos with long critiques).
 */
export function selfRefineExamples(
  tok: Tokenizer,
  pairs: ReadonlyArray<{ prompt: string; chosen: string }>,
  demos: readonly RefineDemo[],
  blockSize = Number.POSITIVE_INFINITY,
): SftExample[] {
  const examples: SftExample[] = pairs.map((p) => ({
    prompt: policyPrompt(tok, p.prompt),
    response: responseIds(tok, p.chosen),
  }));
  for (const d of demos) {
    examples.push({
      prompt: critiqueQuery(tok, d.prompt, d.response),
      response: responseIds(tok, d.critique),
    });
    examples.push({
      prompt: refineQuery(tok, d.prompt, d.response, d.critique),
      response: responseIds(tok, d.refined),
    });
  }
  return examples.filter((e) => e.prompt.length + e.response.length <= blockSize);
}

export interface SelfRefineTrace {
  /** ys[t][row], t = 0..T. */
  ys: string[][];
  /** critiques[t][row]: the critique of ys[t]. */
  critiques: string[][];
}

/** T rounds of critique → refine from `y0`, batched. */
export function selfRefine(
  model: Gpt,
  tok: Tokenizer,
  xs: readonly string[],
  y0: readonly string[],
  iterations: number,
  options: GenerateOptions,
): SelfRefineTrace {
  const ys: string[][] = [y0.slice()];
  const critiques: string[][] = [];
  for (let t = 0; t < iterations; t++) {
    const prev = ys[t]!;
    const crit = generate(
      model,
      tok,
      xs.map((x, i) => critiqueQuery(tok, x, prev[i]!)),
      options,
    );
    critiques.push(crit);
    // Keep room for the refined response: a critique too long for the context is cut short.
    const budget = model.config.blockSize - options.maxNewTokens;
    const queries = xs.map((x, i) => {
      const q = refineQuery(tok, x, prev[i]!, crit[i]!);
      if (q.length <= budget) return q;
      const head = critiqueQuery(tok, x, prev[i]!);
      const room = Math.max(0, budget - head.length - 1);
      return [...head, ...tok.encode(crit[i]!).slice(0, room), SPECIAL_IDS.sep];
    });
    ys.push(generate(model, tok, queries, options));
  }
  return { ys, critiques };
}
