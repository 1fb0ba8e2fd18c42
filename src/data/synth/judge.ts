/** The exact judge q(x, y) of the synthetic task and its explicit-rubric critique. */
import { NUMBER_WORDS, SINGULAR } from './lexicon';
import { inCategory, parsePrompt, type Task } from './task';

export type ConstraintKind =
  | 'format'
  | 'count'
  | 'category'
  | 'distinct'
  | 'include'
  | 'exclude'
  | 'first'
  | 'last'
  | 'sorted';

export interface ConstraintResult {
  kind: ConstraintKind;
  ok: boolean;
  /** What was checked, or what went wrong, in words. */
  detail: string;
}

export interface Judgement {
  /** Fraction of the prompt's constraints that hold, in [0, 1]. */
  score: number;
  constraints: ConstraintResult[];
}

/** Items of a response: every word except the list punctuation (so a format slip costs once). */
export function responseItems(response: string): string[] {
  return response
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '' && w !== ',' && w !== '.');
}

/** The expected layout: "a , b , c ." (one word per item, commas between, one closing period). */
export function wellFormed(response: string): boolean {
  return /^[^\s,.]+( , [^\s,.]+)* \.$/.test(response.trim());
}

const numberWord = (n: number) => NUMBER_WORDS[n] ?? String(n);
const article = (w: string) => (/^[aeiou]/.test(w) ? 'an' : 'a');

/** Scores a parsed task against a response; see `judge` for the string form. */
export function judgeTask(task: Task, response: string): Judgement {
  const items = responseItems(response);
  const out: ConstraintResult[] = [];
  const add = (kind: ConstraintKind, ok: boolean, detail: string) => out.push({ kind, ok, detail });

  add('format', wellFormed(response), 'separate items with commas and end with a period');
  add(
    'count',
    items.length === task.count,
    `needs ${numberWord(task.count)} ${task.count === 1 ? 'item' : 'items'} but has ${numberWord(items.length)}`,
  );
  // A list constraint holds when nothing in it is `bad`; one about "all items" does not hold
  // vacuously for an empty list (`needsItems`), and then says why.
  const none = items.length === 0;
  const NONE = 'there are no items';
  const addList = (
    kind: ConstraintKind,
    bad: string[],
    okDetail: string,
    badDetail: (w: string) => string,
    needsItems = true,
  ) => {
    const ok = bad.length === 0 && !(needsItems && none);
    const detail = ok || bad.length > 0 ? null : NONE;
    add(kind, ok, detail ?? (bad.length === 0 ? okDetail : bad.map(badDetail).join(' . ')));
  };
  const singular = SINGULAR[task.category]!;
  addList(
    'category',
    [...new Set(items.filter((w) => !inCategory(task, w)))],
    `all items are ${task.category}`,
    (w) => `${w} is not ${article(singular)} ${singular}`,
  );
  addList(
    'distinct',
    [...new Set(items.filter((w, i) => items.indexOf(w) !== i))],
    'no item is repeated',
    (w) => `${w} is repeated`,
  );
  if (task.include.length > 0) {
    const missing = task.include.filter((w) => !items.includes(w));
    addList(
      'include',
      missing,
      `includes ${task.include.join(' and ')}`,
      (w) => `${w} is missing`,
      false,
    );
  }
  if (task.exclude.length > 0) {
    const used = task.exclude.filter((w) => items.includes(w));
    addList('exclude', used, `avoids ${task.exclude.join(' and ')}`, (w) => `${w} is not allowed`);
  }
  if (task.first !== undefined)
    add('first', items[0] === task.first, `must start with ${task.first}`);
  if (task.last !== undefined) {
    add(
      'last',
      items.length > 0 && items[items.length - 1] === task.last,
      `must end with ${task.last}`,
    );
  }
  if (task.sorted) {
    const ok = !none && items.every((w, i) => i === 0 || items[i - 1]! <= w);
    add('sorted', ok, none ? NONE : 'not in alphabetical order');
  }
  const score = out.filter((c) => c.ok).length / out.length;
  return { score, constraints: out };
}

/**
 * q(x, y): parses the prompt and checks every constraint it states. Exact by construction: the
 * score is the fraction of satisfied constraints, so 1 means the response is fully correct.
 */
export function judge(prompt: string, response: string): Judgement {
  return judgeTask(parsePrompt(prompt), response);
}

/** One constraint kind's pass rate over a set of responses. */
export interface ConstraintPassRate {
  kind: ConstraintKind;
  /** Fraction of the rows that state this constraint and meet it. */
  rate: number;
  /** Rows whose prompt states this constraint. */
  n: number;
}

/**
 * Pass rate of each constraint kind over (x, y) rows, in the order the kinds first appear. Kinds
 * are counted only over rows whose prompt states them, so `include` reads "of the prompts that
 * require a word, how often it is there".
 */
export function constraintPassRates(
  prompts: readonly string[],
  responses: readonly string[],
): ConstraintPassRate[] {
  if (prompts.length !== responses.length) {
    throw new Error(
      `constraintPassRates: ${prompts.length} prompts but ${responses.length} responses`,
    );
  }
  const tally = new Map<ConstraintKind, { ok: number; n: number }>();
  for (const [i, x] of prompts.entries()) {
    for (const c of judge(x, responses[i]!).constraints) {
      const t = tally.get(c.kind) ?? { ok: 0, n: 0 };
      t.ok += c.ok ? 1 : 0;
      t.n += 1;
      tally.set(c.kind, t);
    }
  }
  return [...tally].map(([kind, { ok, n }]) => ({ kind, rate: ok / n, n }));
}

/**
 * Explicit-rubric feedback in the task's own vocabulary: one sentence per violated constraint,
 * in a fixed order, or "all constraints are met ." (the Self-Refine stop signal).
 */
export function critique(prompt: string, response: string): string {
  const bad = judge(prompt, response).constraints.filter((c) => !c.ok);
  if (bad.length === 0) return 'all constraints are met .';
  // An empty response fails several constraints for one reason: say it once.
  return [...new Set(bad.map((c) => c.detail))].map((d) => `${d} .`).join(' ');
}
