/** A reward model's agreement with a judge on the edits a policy made. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  clusteredEditAgreement,
  clusteredEditReadout,
  editAgreement,
  wilsonInterval,
} from '../../src/eval';
import { runtime } from '../../src/runtime';

test('editAgreement counts only rows the judge scored differently, by sign', () => {
  const before = [0.5, 0.5, 0.5, 0.5, 0.5, 1];
  const after = [0.75, 0.25, 0.5, 1, 0.25, 1];
  // rows 0, 1, 3 and 4 changed (2 and 5 are ties, whatever their prediction): row 0 agrees,
  // rows 1 and 3 have the wrong sign, row 4's zero prediction ranks nothing
  const gain = [2, 0.1, -9, -0.3, 0, 4];
  const a = editAgreement(before, after, gain);
  assert.is(a.edits, 4);
  assert.is(a.accuracy, 0.25);
  assert.equal(a.ci95, wilsonInterval(1, 4));
});

test('editAgreement without edits reports NaN and no interval; lengths must match', () => {
  const a = editAgreement([0.5, 1], [0.5, 1], [1, -1]);
  assert.is(a.edits, 0);
  assert.ok(Number.isNaN(a.accuracy));
  assert.is(a.ci95, undefined);
  assert.throws(() => editAgreement([0.5], [0.5, 1], [1, 1]), /one entry per row, got 1, 2 and 2/);
});

test('clusteredEditAgreement: same accuracy, an interval that counts prompts, not draws', () => {
  // 40 prompts × 4 draws; a prompt's draws all agree or all disagree (perfectly clustered)
  const prompts = 40;
  const draws = 4;
  const before: number[] = [];
  const after: number[] = [];
  const gain: number[] = [];
  const groups: number[] = [];
  for (let d = 0; d < draws; d++) {
    for (let p = 0; p < prompts; p++) {
      before.push(0.5);
      after.push(p % 8 === 0 ? 0.5 : 0.75); // every 8th prompt's edits are ties: not edits
      gain.push(p % 3 === 0 ? -1 : 1);
      groups.push(p);
    }
  }
  const plain = editAgreement(before, after, gain);
  const opts = { groups, resamples: 2000, rng: runtime.rng('test.clustered-agreement') };
  const clustered = clusteredEditAgreement(before, after, gain, opts);
  assert.is(clustered.edits, plain.edits);
  assert.is(clustered.accuracy, plain.accuracy);
  const width = (ci: [number, number] | undefined) => ci![1] - ci![0];
  // 35 prompts carry all 140 edits: the interval is about that of 35 rows, twice 140 rows'
  assert.ok(width(clustered.ci95) > 1.6 * width(plain.ci95), `${clustered.ci95} vs ${plain.ci95}`);
  assert.ok(clustered.ci95![0] < plain.accuracy && plain.accuracy < clustered.ci95![1]);
  const none = clusteredEditAgreement([0.5], [0.5], [1], { groups: [0] });
  assert.is(none.edits, 0);
  assert.is(none.ci95, undefined);
});

test('clusteredEditReadout: a constant "better" scores the improving share on all edits, 0.5 balanced', () => {
  // 6 improving edits, 2 worsening, 2 ties, one per prompt
  const before = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
  const after = [0.75, 0.75, 0.75, 0.75, 0.75, 0.75, 0.25, 0.25, 0.5, 0.5];
  const groups = before.map((_, i) => i);
  const constant = clusteredEditReadout(
    before,
    after,
    before.map(() => 1),
    { groups },
  );
  assert.is(constant.all.edits, 8);
  assert.is(constant.all.accuracy, 0.75);
  assert.equal([constant.improving.edits, constant.improving.accuracy], [6, 1]);
  assert.equal([constant.worsening.edits, constant.worsening.accuracy], [2, 0]);
  assert.is(constant.balanced, 0.5);
  // a model right on half the improving edits and on both worsening ones
  const gain = [1, 1, 1, -1, -1, -1, -1, -1, 7, -7];
  const read = clusteredEditReadout(before, after, gain, { groups });
  assert.is(read.all.accuracy, 5 / 8);
  assert.is(read.balanced, (0.5 + 1) / 2);
});

test.run();
