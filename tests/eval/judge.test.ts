/** Judges: the exact synthetic judge as `oracle`, validation, and judged comparisons. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareResponses, type Judge, meanScore, oracleJudge, scoreWith } from '../../src/eval';

const Q = 'list three different animals . include fox and wolf . do not use cat . end with wolf .';
const S = 'list three different colors . use alphabetical order .';

test('oracle scores are the exact judge’s fractions of constraints met', async () => {
  const s = await scoreWith(
    oracleJudge,
    [Q, Q, S],
    [
      'fox , dog , wolf .', // all 7 constraints
      'fox , dog , wolf', // format fails: 6/7
      'red , blue , gold .', // not sorted: 4/5
    ],
  );
  assert.is(oracleJudge.name, 'oracle');
  assert.ok(s instanceof Float32Array);
  assert.equal(Array.from(s), Array.from(Float32Array.from([1, 6 / 7, 4 / 5])));
});

test('the oracle refuses prompts that are not synthetic-task prompts', () => {
  assert.throws(
    () => oracleJudge.score(['Human: hi Assistant:'], ['hello']),
    /expected "list <number> different <category> \."/,
  );
  assert.throws(() => oracleJudge.score([Q], []), /1 prompts but 0 responses/);
});

test('scoreWith awaits async judges and rejects malformed output', async () => {
  const asyncJudge: Judge = { name: 'judge_rm', score: async (p) => new Float32Array(p.length) };
  assert.equal(Array.from(await scoreWith(asyncJudge, ['a', 'b'], ['x', 'y'])), [0, 0]);
  const short: Judge = { name: 'short', score: () => new Float32Array(1) };
  await scoreWith(short, ['a', 'b'], ['x', 'y']).then(
    () => assert.unreachable('should reject'),
    (e: Error) => assert.match(e.message, /'short' returned 1 scores for 2 rows/),
  );
  const nan: Judge = { name: 'nan', score: () => Float32Array.from([Number.NaN]) };
  await scoreWith(nan, ['a'], ['x']).then(
    () => assert.unreachable('should reject'),
    (e: Error) => assert.match(e.message, /row 0 the score NaN/),
  );
});

test('compareResponses tags the systems and judge; meanScore gives the CI', async () => {
  const prompts = [Q, Q, S, S];
  const pit = ['fox , dog , wolf .', 'fox , dog , wolf .', 'blue , gold , red .', 'red , blue .'];
  const original = [
    'fox , dog , wolf',
    'fox , dog , wolf .',
    'red , blue , gold .',
    'red , blue .',
  ];
  const c = await compareResponses(
    oracleJudge,
    prompts,
    { name: 'pit', responses: pit },
    { name: 'original', responses: original },
  );
  assert.equal(
    { a: c.a, b: c.b, judge: c.judge, n: c.n, win: c.win, tie: c.tie, lose: c.lose },
    { a: 'pit', b: 'original', judge: 'oracle', n: 4, win: 0.5, tie: 0.5, lose: 0 },
  );
  assert.is(c.delta, 0.5);
  assert.ok(c.ci95[0] >= 0 && c.ci95[1] <= 1);
  const m = await meanScore(oracleJudge, [Q, S], ['fox , dog , wolf .', 'red , blue , gold .']);
  assert.is(m.judge, 'oracle');
  assert.is(m.n, 2);
  assert.ok(Math.abs(m.mean - 0.9) < 1e-6);
});

test.run();
