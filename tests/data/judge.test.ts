import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  constraintPassRates,
  critique,
  judge,
  parsePrompt,
  renderPrompt,
  repair,
  sampleTask,
  writeNoisy,
} from '../../src/data';
import { Rng } from '../../src/runtime';

const P = 'list four different fruits . include mango . do not use pear . start with lemon .';
const Q = 'list three different animals . include fox and wolf . do not use cat . end with wolf .';
const S = 'list three different colors . use alphabetical order .';

const verdict = (prompt: string, response: string) =>
  Object.fromEntries(judge(prompt, response).constraints.map((c) => [c.kind, c.ok]));

/** The constraints Q's task has, in the order the judge lists them. */
const Q_KINDS = ['format', 'count', 'category', 'distinct', 'include', 'exclude', 'last'];
/** Q's full verdict when exactly the `failed` constraints are violated. */
const qVerdictFailing = (...failed: string[]) =>
  Object.fromEntries(Q_KINDS.map((kind) => [kind, !failed.includes(kind)]));

test('a fully correct response scores 1 with every constraint listed', () => {
  const j = judge(Q, 'fox , dog , wolf .');
  assert.is(j.score, 1);
  assert.equal(
    j.constraints.map((c) => c.kind),
    Q_KINDS,
  );
  assert.is(judge(S, 'blue , gold , red .').score, 1);
});

test('each violation is caught exactly once', () => {
  assert.equal(verdict(Q, 'fox , dog , wolf'), qVerdictFailing('format'));
  assert.is(judge(Q, 'fox , dog , wolf').score, 6 / 7);
  assert.equal(verdict(Q, 'fox , cat , dog , wolf .'), qVerdictFailing('count', 'exclude'));
  assert.equal(verdict(Q, 'fox , plum , wolf .').category, false);
  assert.equal(verdict(Q, 'fox , fox , wolf .').distinct, false);
  assert.equal(verdict(Q, 'fox , dog , bear .'), qVerdictFailing('include', 'last'));
  assert.equal(verdict(S, 'red , blue , gold .').sorted, false);
  assert.equal(verdict(P, 'lemon , mango , apple , plum .').first, true);
  assert.equal(verdict(P, 'mango , lemon , apple , plum .').first, false);
  // An empty list gets no credit: "all items are animals", "no repeats", "avoids cat" and
  // "sorted" do not hold vacuously, and the critique names the one reason once.
  assert.is(judge(Q, '').score, 0);
  assert.is(judge(S, ' . ').score, 0);
  assert.is(critique(Q, '').match(/there are no items/g)?.length, 1);
});

test('format is strict: commas between single words and one closing period', () => {
  for (const bad of [
    'fox dog , wolf .',
    'fox , dog , wolf . .',
    'fox, dog, wolf.',
    'fox , , wolf .',
  ]) {
    assert.is(verdict(Q, bad).format, false, bad);
  }
  assert.is(verdict(Q, '  fox , dog , wolf .  ').format, true);
});

test('critique names every violated constraint in words, or says all are met', () => {
  assert.is(
    critique(Q, 'cat , plum , cat'),
    'separate items with commas and end with a period . plum is not an animal . cat is repeated . fox is missing . wolf is missing . cat is not allowed . must end with wolf .',
  );
  assert.is(critique(Q, 'fox , dog , bear , wolf .'), 'needs three items but has four .');
  assert.is(critique(Q, 'fox , dog , wolf .'), 'all constraints are met .');
});

test('constraint pass rates count each kind only over the prompts that state it', () => {
  const rates = constraintPassRates(
    [P, Q, S],
    ['lemon , mango , kiwi , fig .', 'fox , cat , owl .', 'red , blue , tan .'],
  );
  const of = (kind: string) => rates.find((r) => r.kind === kind);
  assert.equal(of('include'), { kind: 'include', rate: 0.5, n: 2 }); // mango there; wolf missing
  assert.equal(of('exclude'), { kind: 'exclude', rate: 0.5, n: 2 }); // no pear; cat used
  assert.equal(of('first'), { kind: 'first', rate: 1, n: 1 });
  assert.equal(of('last'), { kind: 'last', rate: 0, n: 1 });
  assert.equal(of('sorted'), { kind: 'sorted', rate: 0, n: 1 });
  assert.equal(of('format'), { kind: 'format', rate: 1, n: 3 });
  assert.throws(() => constraintPassRates([P], []), /1 prompts but 0 responses/);
});

test('prompts parse back to the task they render from; junk is rejected', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const { task, answer } = sampleTask(rng);
    assert.equal(parsePrompt(renderPrompt(task)), task);
    assert.is(judge(renderPrompt(task), `${answer.join(' , ')} .`).score, 1, renderPrompt(task));
  }
  assert.throws(() => parsePrompt('list many different fruits .'), /expected "list <number>/);
  assert.throws(
    () => parsePrompt('list two different fruits . be nice .'),
    /unknown clause "be nice"/,
  );
});

test('noisy writer: rate 0 is always correct, higher rates score lower; repair always fixes', () => {
  const rng = new Rng(11);
  const mean = (rate: number) => {
    let sum = 0;
    for (let i = 0; i < 300; i++) {
      const { task } = sampleTask(rng);
      sum += judge(renderPrompt(task), writeNoisy(task, rng, { rate })).score;
    }
    return sum / 300;
  };
  assert.is(mean(0), 1);
  const [low, high] = [mean(0.2), mean(0.6)];
  assert.ok(low < 1 && high < low - 0.1, `${low} ${high}`);
  for (let i = 0; i < 300; i++) {
    const { task } = sampleTask(rng);
    const broken = writeNoisy(task, rng, { rate: 0.8 });
    const fixed = repair(task, broken, rng);
    assert.is(
      judge(renderPrompt(task), fixed).score,
      1,
      `${renderPrompt(task)} | ${broken} -> ${fixed}`,
    );
  }
});

test.run();
