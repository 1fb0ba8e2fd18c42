/** A synthetic task: its constraints, the prompt that states them, and parsing that prompt back. */
import type { Rng } from '../../runtime';
import { CATEGORIES, CATEGORY_OF, NUMBER_WORDS } from './lexicon';

/**
 * One instruction. `count`, `category` and distinctness always apply; the others are optional.
 * Prompts read like "list four different fruits . include mango . do not use pear . start with
 * lime ." (words are space-separated, punctuation included, so a word tokenizer splits on spaces).
 */
export interface Task {
  category: string;
  count: number;
  include: string[];
  exclude: string[];
  first?: string;
  last?: string;
  sorted: boolean;
}

/** Knobs of the prompt distribution. */
export interface TaskOptions {
  /** Smallest and largest list length. @defaultValue [3, 6] */
  countRange?: [number, number];
  /** How many optional constraints each prompt gets. @defaultValue [1, 3] */
  extraRange?: [number, number];
}

export function renderPrompt(t: Task): string {
  const parts = [`list ${NUMBER_WORDS[t.count]} different ${t.category} .`];
  if (t.include.length > 0) parts.push(`include ${t.include.join(' and ')} .`);
  if (t.exclude.length > 0) parts.push(`do not use ${t.exclude.join(' and ')} .`);
  if (t.first !== undefined) parts.push(`start with ${t.first} .`);
  if (t.last !== undefined) parts.push(`end with ${t.last} .`);
  if (t.sorted) parts.push('use alphabetical order .');
  return parts.join(' ');
}

/** Inverse of `renderPrompt`; throws with the offending clause on anything else. */
export function parsePrompt(prompt: string): Task {
  const clauses = prompt
    .trim()
    .split(/\s*\.\s*/)
    .filter((c) => c !== '');
  const head = /^list (\w+) different (\w+)$/.exec(clauses[0] ?? '');
  const count = head ? NUMBER_WORDS.indexOf(head[1]!) : -1;
  if (!head || count < 1 || !(head[2]! in CATEGORIES)) {
    throw new Error(
      `parsePrompt: expected "list <number> different <category> ." first, got ${JSON.stringify(prompt)}`,
    );
  }
  const task: Task = { category: head[2]!, count, include: [], exclude: [], sorted: false };
  const items = (text: string) => text.split(' and ').map((w) => w.trim());
  for (const clause of clauses.slice(1)) {
    const [, key, rest] = /^(include|do not use|start with|end with) (.+)$/.exec(clause) ?? [];
    if (key === 'include') task.include = items(rest!);
    else if (key === 'do not use') task.exclude = items(rest!);
    else if (key === 'start with') task.first = rest!;
    else if (key === 'end with') task.last = rest!;
    else if (clause === 'use alphabetical order') task.sorted = true;
    else
      throw new Error(
        `parsePrompt: unknown clause ${JSON.stringify(clause)} in ${JSON.stringify(prompt)}`,
      );
  }
  return task;
}

/** Every item the task may use in a correct answer. */
export function allowedItems(t: Task): string[] {
  return CATEGORIES[t.category]!.filter((it) => !t.exclude.includes(it));
}

/**
 * Draws a task together with one correct answer. The answer is drawn first and every optional
 * constraint is read off it, so each prompt is satisfiable by construction. `sorted` never
 * combines with `first`/`last` (they would usually contradict each other).
 */
export function sampleTask(rng: Rng, opts: TaskOptions = {}): { task: Task; answer: string[] } {
  const [lo, hi] = opts.countRange ?? [3, 6];
  const [elo, ehi] = opts.extraRange ?? [1, 3];
  const category = rng.pick(Object.keys(CATEGORIES));
  const count = lo + rng.int(hi - lo + 1);
  const answer = rng.shuffle([...CATEGORIES[category]!]).slice(0, count);
  const unused = CATEGORIES[category]!.filter((it) => !answer.includes(it));
  const kinds = rng.shuffle(['include', 'exclude', 'first', 'last', 'sorted']);
  const nExtra = elo + rng.int(ehi - elo + 1);
  const picked: string[] = [];
  for (const k of kinds) {
    if (picked.length >= nExtra) break;
    if (k === 'sorted' && (picked.includes('first') || picked.includes('last'))) continue;
    if ((k === 'first' || k === 'last') && picked.includes('sorted')) continue;
    picked.push(k);
  }
  const task: Task = { category, count, include: [], exclude: [], sorted: false };
  if (picked.includes('sorted')) {
    task.sorted = true;
    answer.sort();
  }
  if (picked.includes('first')) task.first = answer[0];
  if (picked.includes('last')) task.last = answer[count - 1];
  if (picked.includes('include')) {
    // prefer items that first/last do not already pin, so the clause adds information
    const free = answer.filter((it) => it !== task.first && it !== task.last);
    const pool = free.length > 0 ? free : answer;
    const n = Math.min(pool.length, 1 + rng.int(2));
    task.include = rng.shuffle([...pool]).slice(0, n);
  }
  if (picked.includes('exclude') && unused.length > 0) task.exclude = [rng.pick(unused)];
  return { task, answer };
}

/** True when `word` is an item of the task's category. */
export function inCategory(t: Task, word: string): boolean {
  return CATEGORY_OF.get(word) === t.category;
}
