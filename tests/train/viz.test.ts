/** Training-curve figures: built from a metrics frame, only for keys the frame has. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { metricsFrame } from '../../src/train';
import { entropyFigure, lengthFigure, lossFigure, rewardKlFigure } from '../../src/viz/training';

test('figures pick present keys and skip NaN gaps', () => {
  const frame = metricsFrame([
    { step: 1, loss: 2, entropy: 3 },
    { step: 2, eval_loss: 1.5 },
    { step: 3, loss: 1, 'objective/kl': 0.1, 'objective/scores': 0.5, 'response/length_mean': 7 },
  ]);
  const loss = lossFigure(frame);
  assert.equal(
    loss.data.map((d) => d.name),
    ['loss', 'eval_loss'],
  );
  assert.equal(loss.data[0]!.x, [1, 3]);
  assert.equal(
    rewardKlFigure(frame).data.map((d) => [d.name, d.yaxis]),
    [
      ['objective/scores', undefined],
      ['objective/kl', 'y2'],
    ],
  );
  assert.equal(entropyFigure(frame).data.length, 1);
  assert.equal(lengthFigure(frame).data[0]!.y, [7]);
  assert.is(JSON.parse(JSON.stringify(loss)).layout.title.text, 'Loss');
});

test.run();
