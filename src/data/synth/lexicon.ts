/** The closed vocabulary of the synthetic list task: categories, their items and number words. */

/** Plural name used in prompts → its items. Item words are unique across categories. */
export const CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  fruits: [
    'apple',
    'banana',
    'cherry',
    'grape',
    'lemon',
    'mango',
    'melon',
    'peach',
    'pear',
    'plum',
  ],
  animals: ['bear', 'cat', 'cow', 'deer', 'dog', 'fox', 'goat', 'horse', 'lion', 'wolf'],
  colors: ['black', 'blue', 'brown', 'gold', 'green', 'pink', 'purple', 'red', 'silver', 'white'],
  tools: ['axe', 'drill', 'hammer', 'knife', 'ladder', 'pliers', 'rake', 'saw', 'shovel', 'wrench'],
  birds: ['crow', 'duck', 'eagle', 'goose', 'hawk', 'owl', 'parrot', 'raven', 'robin', 'swan'],
  vegetables: [
    'bean',
    'beet',
    'cabbage',
    'carrot',
    'corn',
    'garlic',
    'kale',
    'leek',
    'onion',
    'potato',
  ],
  countries: [
    'brazil',
    'canada',
    'chile',
    'china',
    'egypt',
    'france',
    'india',
    'japan',
    'kenya',
    'mexico',
  ],
  instruments: [
    'banjo',
    'cello',
    'drum',
    'flute',
    'guitar',
    'harp',
    'oboe',
    'piano',
    'trumpet',
    'violin',
  ],
};

/** Singular category names, for critiques ("dog is not a fruit"). */
export const SINGULAR: Readonly<Record<string, string>> = {
  fruits: 'fruit',
  animals: 'animal',
  colors: 'color',
  tools: 'tool',
  birds: 'bird',
  vegetables: 'vegetable',
  countries: 'country',
  instruments: 'instrument',
};

export const NUMBER_WORDS = [
  'zero',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
];

/** Words of prompts and critiques besides items, categories and numbers. */
export const FUNCTION_WORDS = [
  '.',
  ',',
  'list',
  'different',
  'include',
  'do',
  'not',
  'use',
  'start',
  'end',
  'with',
  'alphabetical',
  'order',
  'and',
  'needs',
  'items',
  'item',
  'but',
  'has',
  'is',
  'a',
  'an',
  'repeated',
  'missing',
  'allowed',
  'must',
  'in',
  'separate',
  'commas',
  'period',
  'all',
  'constraints',
  'are',
  'met',
] as const;

/** Which category an item belongs to (undefined for words that are not items). */
export const CATEGORY_OF: ReadonlyMap<string, string> = new Map(
  Object.entries(CATEGORIES).flatMap(([cat, items]) => items.map((it) => [it, cat] as const)),
);

/** Every word the task can produce, sorted: the closed vocabulary of the word tokenizer. */
export function synthWords(): string[] {
  const words = new Set<string>([
    ...FUNCTION_WORDS,
    ...NUMBER_WORDS,
    ...Object.keys(CATEGORIES),
    ...Object.values(SINGULAR),
    ...CATEGORY_OF.keys(),
  ]);
  return [...words].sort();
}
