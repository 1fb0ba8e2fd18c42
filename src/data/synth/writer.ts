/** Response writers for the synthetic task: correct answers, noisy answers, and minimal repairs. */
import type { Rng } from '../../runtime';
import { responseItems } from './judge';
import { CATEGORIES } from './lexicon';
import { allowedItems, type Task } from './task';

/** "a , b , c ." */
export function renderList(items: readonly string[]): string {
  return `${items.join(' , ')} .`;
}

/** Items a correct answer must contain. */
function requiredItems(task: Task): string[] {
  const words = [...task.include, task.first, task.last].filter(
    (w): w is string => w !== undefined,
  );
  return [...new Set(words)];
}

/** A fresh correct answer (one of many), drawn from `rng`. */
export function solve(task: Task, rng: Rng): string[] {
  const required = requiredItems(task);
  const rest = rng.shuffle(allowedItems(task).filter((it) => !required.includes(it)));
  const items = rng.shuffle([...required, ...rest.slice(0, task.count - required.length)]);
  return place(task, items);
}

/** Puts `first`/`last` in place, or sorts; other positions keep their order. */
function place(task: Task, items: string[]): string[] {
  let out = [...items];
  if (task.sorted) return out.sort();
  if (task.first !== undefined) out = [task.first, ...out.filter((w) => w !== task.first)];
  if (task.last !== undefined) out = [...out.filter((w) => w !== task.last), task.last];
  return out;
}

export interface NoiseOptions {
  /** Probability that each constraint of the task gets its own corruption. @defaultValue 0.3 */
  rate?: number;
}

/**
 * A response with random constraint violations: start from a correct answer, then for each
 * constraint the prompt states, corrupt it with probability `rate`. Corruptions can interact
 * (dropping an item may also drop an included word), which is fine: the judge, not this
 * function, says what the response is worth.
 */
export function writeNoisy(task: Task, rng: Rng, opts: NoiseOptions = {}): string {
  const rate = opts.rate ?? 0.3;
  let items = solve(task, rng);
  const hit = () => rng.next() < rate;
  const pos = () => rng.int(items.length);
  const pool = CATEGORIES[task.category]!;
  const others = Object.keys(CATEGORIES).filter((c) => c !== task.category);

  if (hit()) {
    // count: one item too many or too few
    if (rng.next() < 0.5 || items.length <= 1) items.splice(pos(), 0, rng.pick(pool));
    else items.splice(pos(), 1);
  }
  if (hit()) items[pos()] = rng.pick(CATEGORIES[rng.pick(others)]!); // category
  if (hit() && items.length > 1) {
    const i = pos();
    items[(i + 1 + rng.int(items.length - 1)) % items.length] = items[i]!; // distinct
  }
  if (task.include.length > 0 && hit()) {
    const w = rng.pick(task.include);
    const spare = pool.filter((it) => !task.include.includes(it));
    items = items.map((it) => (it === w ? rng.pick(spare) : it));
  }
  if (task.exclude.length > 0 && hit()) items[pos()] = rng.pick(task.exclude);
  if (task.first !== undefined && hit() && items.length > 1)
    swap(items, 0, 1 + rng.int(items.length - 1));
  if (task.last !== undefined && hit() && items.length > 1)
    swap(items, items.length - 1, rng.int(items.length - 1));
  if (task.sorted && hit() && items.length > 1) {
    const i = rng.int(items.length - 1);
    swap(items, i, i + 1);
  }
  let text = renderList(items);
  if (hit()) {
    // format: a missing comma or a missing period
    const tokens = text.split(' ');
    const commas = tokens.flatMap((t, i) => (t === ',' ? [i] : []));
    if (commas.length > 0 && rng.next() < 0.5) tokens.splice(rng.pick(commas), 1);
    else tokens.pop();
    text = tokens.join(' ');
  }
  return text;
}

function swap(items: string[], i: number, j: number): void {
  [items[i], items[j]] = [items[j]!, items[i]!];
}

/**
 * The smallest edit that satisfies every constraint: drop foreign, excluded and repeated
 * items, add missing required ones, trim or pad to the count (padding draws from `rng`), then
 * put first/last in place or sort. This is the "refine" half of a critique→refine demonstration.
 */
export function repair(task: Task, response: string, rng: Rng): string {
  const allowed = new Set(allowedItems(task));
  let items = [...new Set(responseItems(response).filter((w) => allowed.has(w)))];
  const required = requiredItems(task);
  for (const w of required) if (!items.includes(w)) items.push(w);
  while (items.length > task.count) {
    // drop the last optional item, keeping what the prompt asked for
    let k = items.length - 1;
    while (k >= 0 && required.includes(items[k]!)) k -= 1;
    items.splice(k < 0 ? items.length - 1 : k, 1);
  }
  const spare = rng.shuffle([...allowed].filter((w) => !items.includes(w)));
  while (items.length < task.count && spare.length > 0) items.push(spare.pop()!);
  items = place(task, items);
  return renderList(items);
}
