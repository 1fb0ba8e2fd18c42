/** OpenAI summarize-from-feedback comparisons loader (TL;DR), with TRL's prompt template. */
import { basename } from 'node:path';
import { checkTriple, type LoadResult, RowProblem, textField, typeName } from './collect';
import { loadJsonLines } from './json_lines';
import type { LoadOptions, PreferenceRecord } from './types';

/** TRL's template; CNN/DM rows carry `article` instead of `post` and have no subreddit/title. */
export function tldrPrompt(info: Record<string, unknown>): string {
  if (typeof info.post === 'string' || !('article' in info)) {
    const post = textField(info, 'post');
    const title = textField(info, 'title');
    const subreddit = textField(info, 'subreddit');
    return `SUBREDDIT: r/${subreddit}\n\nTITLE: ${title}\n\nPOST: ${post}\n\nTL;DR:`;
  }
  return `ARTICLE: ${textField(info, 'article')}\n\nTL;DR:`;
}

/** One comparison row to a record; `choice` indexes the preferred summary. */
export function tldrRecord(
  obj: Record<string, unknown>,
  id: string,
  source: string,
): PreferenceRecord {
  const info = obj.info;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    throw new RowProblem(`field 'info' must be an object, got ${typeName(info)}`);
  }
  const prompt = tldrPrompt(info as Record<string, unknown>);
  const sums = obj.summaries;
  if (!Array.isArray(sums) || sums.length !== 2) {
    throw new RowProblem(
      `field 'summaries' must be an array of two summaries, got ${Array.isArray(sums) ? `${sums.length} items` : typeName(sums)}`,
    );
  }
  const texts = sums.map((s, i) => {
    if (typeof s !== 'object' || s === null)
      throw new RowProblem(`summaries[${i}] must be an object`);
    return textField(s as Record<string, unknown>, 'text', `summaries[${i}].text`);
  });
  const choice = obj.choice;
  if (choice !== 0 && choice !== 1) {
    throw new RowProblem(`field 'choice' must be 0 or 1, got ${JSON.stringify(choice)}`);
  }
  const chosen = texts[choice]!;
  const rejected = texts[1 - choice]!;
  checkTriple(prompt, chosen, rejected);
  const meta: Record<string, unknown> = {};
  if (typeof obj.split === 'string') meta.split = obj.split;
  const policies = sums.map((s) => (s as Record<string, unknown>).policy);
  if (policies.every((p) => typeof p === 'string')) {
    meta.chosen_policy = policies[choice];
    meta.rejected_policy = policies[1 - choice];
  }
  const infoId = (info as Record<string, unknown>).id;
  return {
    id: typeof infoId === 'string' ? `${infoId}:${id}` : id,
    source,
    prompt,
    chosen,
    rejected,
    meta,
  };
}

/** Loads summarize-from-feedback comparisons jsonl(.gz). */
export async function loadTldr(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const source = `tldr:${basename(file)}`;
  return loadJsonLines(file, 'tldr', opts, (obj, line) => tldrRecord(obj, String(line), source));
}
