/** Response writers for the synthetic task: correct answers, noisy answers, and minimal repairs. */
import type { Rng } from '../../runtime';
import { type ConstraintKind, responseItems } from './judge';
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

/** Every constraint but the format, which `writeNoisy` breaks on the rendered text. */
type CorruptionKind = Exclude<ConstraintKind, 'format'>;

/**
 * One corruption per constraint a prompt can state, each breaking that constraint in `items` (in
 * place, or returning a new list). `stated`: the prompt states the constraint (count, category
 * and distinctness always are); `possible`: the list is long enough to break it. `writeNoisy` and
 * `perturb` share them, so a one-violation edit is the same kind of mistake a noisy write makes.
 */
interface Corruption {
  name: CorruptionKind;
  stated(task: Task): boolean;
  possible(items: string[]): boolean;
  apply(task: Task, items: string[], rng: Rng): string[];
}

const always = () => true;
const twoOrMore = (items: string[]) => items.length > 1;

const otherCategories = (task: Task) => Object.keys(CATEGORIES).filter((c) => c !== task.category);

const CORRUPTIONS: Corruption[] = [
  {
    name: 'count', // one item too many or too few
    stated: always,
    possible: always,
    apply: (task, items, rng) => {
      if (rng.next() < 0.5 || items.length <= 1)
        items.splice(rng.int(items.length), 0, rng.pick(CATEGORIES[task.category]!));
      else items.splice(rng.int(items.length), 1);
      return items;
    },
  },
  {
    name: 'category',
    stated: always,
    possible: (items) => items.length > 0,
    apply: (task, items, rng) => {
      items[rng.int(items.length)] = rng.pick(CATEGORIES[rng.pick(otherCategories(task))]!);
      return items;
    },
  },
  {
    name: 'distinct',
    stated: always,
    possible: twoOrMore,
    apply: (_, items, rng) => {
      const i = rng.int(items.length);
      items[(i + 1 + rng.int(items.length - 1)) % items.length] = items[i]!;
      return items;
    },
  },
  {
    name: 'include',
    stated: (task) => task.include.length > 0,
    possible: always,
    apply: (task, items, rng) => {
      const w = rng.pick(task.include);
      const spare = CATEGORIES[task.category]!.filter((it) => !task.include.includes(it));
      return items.map((it) => (it === w ? rng.pick(spare) : it));
    },
  },
  {
    name: 'exclude',
    stated: (task) => task.exclude.length > 0,
    possible: (items) => items.length > 0,
    apply: (task, items, rng) => {
      items[rng.int(items.length)] = rng.pick(task.exclude);
      return items;
    },
  },
  {
    name: 'first',
    stated: (task) => task.first !== undefined,
    possible: twoOrMore,
    apply: (_, items, rng) => swap(items, 0, 1 + rng.int(items.length - 1)),
  },
  {
    name: 'last',
    stated: (task) => task.last !== undefined,
    possible: twoOrMore,
    apply: (_, items, rng) => swap(items, items.length - 1, rng.int(items.length - 1)),
  },
  {
    name: 'sorted',
    stated: (task) => task.sorted,
    possible: twoOrMore,
    apply: (_, items, rng) => {
      const i = rng.int(items.length - 1);
      return swap(items, i, i + 1);
    },
  },
];

/** A format mistake: a missing comma or a missing period. */
function breakFormat(text: string, rng: Rng): string {
  const tokens = text.split(' ');
  const commas = tokens.flatMap((t, i) => (t === ',' ? [i] : []));
  if (commas.length > 0 && rng.next() < 0.5) tokens.splice(rng.pick(commas), 1);
  else tokens.pop();
  return tokens.join(' ');
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
  for (const c of CORRUPTIONS) {
    // The draw order is part of the data: one draw per stated constraint, in this order.
    if (c.stated(task) && hit() && c.possible(items)) items = c.apply(task, items, rng);
  }
  const text = renderList(items);
  return hit() ? breakFormat(text, rng) : text;
}

/** The constraints `perturb` can break. */
export const CORRUPTION_KINDS = CORRUPTIONS.map((c) => c.name);

/**
 * The constraints that relate words to each other or to the prompt (a repeat, a required or a
 * banned word, an order): the mistakes a trained policy still makes once the surface ones (count,
 * category, format) are learnt.
 */
export const RELATIONAL_KINDS: readonly CorruptionKind[] = [
  'distinct',
  'include',
  'exclude',
  'first',
  'last',
  'sorted',
];

/**
 * `response` with `k` more violations, each from a different applicable constraint among `kinds`,
 * drawn from `rng`: the one- or two-step difference an improver's edit makes, seen from the other side.
 * The response is re-rendered from its items, so a format mistake in it is not kept.
 */
export function perturb(
  task: Task,
  response: string,
  rng: Rng,
  k: number,
  kinds: readonly CorruptionKind[] = CORRUPTION_KINDS,
): string {
  let items = responseItems(response);
  const fits = (c: Corruption) => kinds.includes(c.name) && c.stated(task) && c.possible(items);
  const options = rng.shuffle(CORRUPTIONS.filter(fits));
  for (const c of options.slice(0, k)) items = c.apply(task, items, rng);
  return renderList(items);
}

function swap(items: string[], i: number, j: number): string[] {
  [items[i], items[j]] = [items[j]!, items[i]!];
  return items;
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
