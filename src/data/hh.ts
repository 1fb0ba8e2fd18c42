/** Anthropic HH-RLHF loader: full `chosen`/`rejected` dialogues become (prompt, chosen, rejected). */
import { basename } from 'node:path';
import { Collector, type LoadResult, parseJsonObject, RowProblem, textField } from './collect';
import { readLines } from './lines';
import type { LoadOptions } from './types';

export const ASSISTANT_TAG = '\n\nAssistant:';

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
  const c = new Collector(file, 'hh', opts);
  const source = `hh:${basename(file)}`;
  for await (const ln of readLines(file, opts.maxLineBytes)) {
    if (ln.error !== undefined) {
      c.bad(ln.line, ln.error);
      continue;
    }
    if (ln.text.trim() === '') continue; // blank lines are not rows
    c.row(ln.line, () => {
      const obj = parseJsonObject(ln.text);
      const t = splitHhPair(textField(obj, 'chosen'), textField(obj, 'rejected'));
      const blank = [t.chosen.trim() === '' && 'chosen', t.rejected.trim() === '' && 'rejected'];
      const meta = blank.some(Boolean) ? { blank_response: blank.filter(Boolean) } : undefined;
      return { id: `${basename(file)}:${ln.line}`, source, ...t, ...(meta ? { meta } : {}) };
    });
    if (c.full) break;
  }
  return c.finish();
}
