/** A reward model's agreement with a judge on the edits a policy made. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { editAgreement, wilsonInterval } from '../../src/eval';

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

test.run();
