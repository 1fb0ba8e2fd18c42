import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BpeTokenizer, encodeSegments, SPECIAL_IDS, WordTokenizer } from '../../src/data';

const TRICKY = 'Héllo wörld 🎉👩‍👩‍👧 日本語\n\nnew  line\ttab\r\nend ';
const corpus = [
  'the cat sat on the mat',
  'the dog sat on the log',
  'Human: what is the weather?\n\nAssistant: sunny with clouds',
  'a naïve café, déjà vu 🎉',
  'the the the cat cat dog',
];

test('special tokens: fixed ids, PAD distinct from EOS', () => {
  assert.equal(SPECIAL_IDS, { pad: 0, bos: 1, eos: 2, unk: 3, sepRef: 4, sep: 5 });
  assert.is.not(SPECIAL_IDS.pad, SPECIAL_IDS.eos);
});

test('word tokenizer: round-trips in-vocabulary text with unicode, emoji and newlines', () => {
  const tok = WordTokenizer.fromCorpus(['héllo wörld 🎉 ok', 'ok ok\nnext line']);
  const text = 'ok 🎉 héllo\nnext wörld\n\nline';
  const ids = tok.encode(text, { bos: true, eos: true });
  assert.is(ids[0], SPECIAL_IDS.bos);
  assert.is(ids[ids.length - 1], SPECIAL_IDS.eos);
  assert.not.ok(ids.includes(SPECIAL_IDS.unk));
  assert.is(tok.decode(ids), text);
  assert.is(tok.decode(ids, { skipSpecial: false }), `<bos> ${text} <eos>`);
  assert.equal(tok.encode('ok zebra'), [tok.encode('ok')[0]!, SPECIAL_IDS.unk]);
  // most frequent word first after the specials
  assert.is(tok.encode('ok')[0], 6);
  const again = WordTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
  assert.equal(again.encode(text), tok.encode(text));
  assert.throws(() => tok.decode([999]), /outside the vocabulary/);
  assert.throws(() => WordTokenizer.fromJSON({ kind: 'bpe' }), /expected \{kind: 'word'/);
});

test('word tokenizer for the synthetic task: closed vocabulary under 300', () => {
  const tok = WordTokenizer.synthetic();
  const p = 'list four different fruits . include mango . do not use pear .';
  assert.is(tok.decode(tok.encode(p)), p);
  assert.ok(tok.vocabSize > 100 && tok.vocabSize < 300);
});

test('BPE: trains deterministically, respects vocabSize, merges frequent pairs', () => {
  const a = BpeTokenizer.train(corpus, { vocabSize: 300 });
  const b = BpeTokenizer.train(corpus, { vocabSize: 300 });
  assert.equal(a.merges, b.merges);
  assert.ok(a.vocabSize <= 300 && a.vocabSize > 262);
  // " the" is frequent enough to become one token
  assert.is(a.encode(' the').length, 1);
  assert.is(a.token(a.encode(' the')[0]!), ' the');
  assert.throws(() => BpeTokenizer.train(corpus, { vocabSize: 100 }), /at least 262/);
});

test('BPE: any text round-trips exactly, including bytes never seen in training', () => {
  const tok = BpeTokenizer.train(corpus, { vocabSize: 320 });
  for (const text of [TRICKY, '', ' ', '\n', 'the cat', '🎉🎉🎉', '\u0000\uFFFD']) {
    assert.is(tok.decode(tok.encode(text)), text, JSON.stringify(text));
  }
  const ids = tok.encode('the cat', { bos: true, eos: true });
  assert.equal([ids[0], ids[ids.length - 1]], [SPECIAL_IDS.bos, SPECIAL_IDS.eos]);
  assert.is(tok.decode(ids), 'the cat');
  assert.is(tok.decode(ids, { skipSpecial: false }), '<bos>the cat<eos>');
});

test('BPE: save/load as JSON gives the same encodings', () => {
  const tok = BpeTokenizer.train(corpus, { vocabSize: 320 });
  const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tok)));
  assert.is(again.vocabSize, tok.vocabSize);
  assert.equal(again.encode(TRICKY), tok.encode(TRICKY));
  assert.throws(
    () => BpeTokenizer.fromJSON({ kind: 'bpe', merges: [[1, 7]] }),
    /unknown or special id/,
  );
});

test('segments: x <sep_ref> y_ref <sep> y layout', () => {
  const tok = WordTokenizer.fromCorpus(['x yref y']);
  const ids = encodeSegments(tok, ['x', { special: 'sepRef' }, 'yref', { special: 'sep' }, 'y'], {
    bos: true,
    eos: true,
  });
  assert.is(tok.decode(ids, { skipSpecial: false }), '<bos> x <sep_ref> yref <sep> y <eos>');
});

test.run();
