/** Anthropic HH-RLHF loader: full `chosen`/`rejected` dialogues become (prompt, chosen, rejected). */
import { basename, join } from 'node:path';
import { type LoadResult, RowProblem, textField } from './collect';
import { loadJsonLines } from './json_lines';
import type { LoadOptions } from './types';

export const ASSISTANT_TAG = '\n\nAssistant:';

/**
 * The HH-RLHF sample committed with the repository: the first 1,800 pairs of Anthropic's
 * harmless-base test split (`data/hh-rlhf/`, MIT; its README says more). Resolved from the
 * package root, so it is found wherever the repository is cloned.
 */
export const HH_SAMPLE = join(
  __dirname,
  '..',
  '..',
  'data',
  'hh-rlhf',
  'harmless-base-test.part1.jsonl.gz',
);

/**
 * Splits one HH pair. The prompt is the longest common prefix of the two dialogues cut back to
 * its last "\n\nAssistant:" (TRL's hh-rlhf recipe); the responses are what follows, kept
 * verbatim (leading space included) so that prompt + chosen reproduces the original dialogue.
 * Rows whose dialogues differ in their number of turns split the same way: the longer one's
 * remainder simply holds its extra turns.
 */
export function splitHhPair(
  chosen: string,
  rejected: string,
): { prompt: string; chosen: string; rejected: string } {
  if (chosen === rejected) throw new RowProblem('chosen and rejected are identical');
  const max = Math.min(chosen.length, rejected.length);
  let n = 0;
  while (n < max && chosen.charCodeAt(n) === rejected.charCodeAt(n)) n += 1;
  const at =
    n >= ASSISTANT_TAG.length ? chosen.lastIndexOf(ASSISTANT_TAG, n - ASSISTANT_TAG.length) : -1;
  if (at < 0) {
    throw new RowProblem('the dialogues share no "\\n\\nAssistant:" turn, so no prompt can be cut');
  }
  const cut = at + ASSISTANT_TAG.length;
  const triple = {
    prompt: chosen.slice(0, cut),
    chosen: chosen.slice(cut),
    rejected: rejected.slice(cut),
  };
  // A few real rows prefer an assistant turn that says nothing ("\n\nAssistant: " ends the
  // dialogue; 4 of the first 1,800 harmless-base test rows). That is a real preference for
  // silence, so it is kept verbatim (" ") and flagged; only a response with no text at all, not
  // even the separating space, is malformed.
  if (triple.chosen === '' || triple.rejected === '') {
    throw new RowProblem(`${triple.chosen === '' ? 'chosen' : 'rejected'} response is empty`);
  }
  if (triple.prompt.trim() === '') throw new RowProblem('prompt is empty');
  return triple;
}

/** Loads HH-RLHF jsonl or jsonl.gz (`{"chosen": ..., "rejected": ...}` per line). */
export async function loadHh(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const source = `hh:${basename(file)}`;
  return loadJsonLines(file, 'hh', opts, (obj, line) => {
    const t = splitHhPair(textField(obj, 'chosen'), textField(obj, 'rejected'));
    const blank = [t.chosen.trim() === '' && 'chosen', t.rejected.trim() === '' && 'rejected'];
    const meta = blank.some(Boolean) ? { blank_response: blank.filter(Boolean) } : undefined;
    return { id: `${basename(file)}:${line}`, source, ...t, ...(meta ? { meta } : {}) };
  });
}
