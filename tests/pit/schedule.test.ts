/** The run's start order: simulated list scheduling, and the planner that improves on HLFET. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chainCosts, plannedOrder, simulatedSeconds, type Task } from '../../src/pit/schedule';
import { Rng } from '../../src/runtime';

const task = (name: string, cost: number, deps: string[] = [], cores = 1): Task => ({
  name,
  deps,
  cost,
  cores,
});

//   b (1) ─▶ d (1) ─▶ e (1)      a (2)      c (3)
const SMALL = [task('a', 2), task('b', 1), task('c', 3), task('d', 1, ['b']), task('e', 1, ['d'])];

test('simulatedSeconds replays the runner: in order, every ready task that fits', () => {
  // b, c start; b ends at 1 and a (ahead of d) takes its core; d waits for c (3), e ends at 5
  assert.is(simulatedSeconds(SMALL, ['b', 'c', 'a', 'd', 'e'], 2), 5);
  assert.is(simulatedSeconds(SMALL, ['b', 'a', 'c', 'd', 'e'], 2), 4);
  assert.is(simulatedSeconds(SMALL, ['a', 'b', 'c', 'd', 'e'], 1), 8); // one core: the sum
  // a task that keeps both cores runs alone
  const wide = [task('w', 2, [], 2), task('x', 1), task('y', 1)];
  assert.is(simulatedSeconds(wide, ['w', 'x', 'y'], 2), 3);
  assert.is(simulatedSeconds(wide, ['x', 'y', 'w'], 2), 3);
  assert.is(simulatedSeconds([task('w', 2, [], 4)], ['w'], 2), 2); // more cores than the run: alone
});

test('chainCosts: own cost plus the costliest chain of dependants', () => {
  const chain = chainCosts(SMALL, (n) => SMALL.find((t) => t.name === n)!.cost);
  assert.equal(Object.fromEntries(chain), { a: 2, b: 3, c: 3, d: 2, e: 1 });
});

test('plannedOrder beats the longest-chain order where it can', () => {
  // longest chain first is b, c, a, d, e: 5 s; starting the short chain's stages first: 4 s
  const order = plannedOrder(SMALL, 2);
  assert.is(simulatedSeconds(SMALL, order, 2), 4);
  assert.equal(order.slice().sort(), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(plannedOrder(SMALL, 2), order, 'deterministic');
});

test('plannedOrder is never longer than the longest-chain order (random graphs)', () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 40; trial++) {
    const n = 4 + rng.int(7);
    const tasks = Array.from({ length: n }, (_, i) =>
      task(
        `t${i}`,
        1 + rng.int(9),
        Array.from({ length: i }, (_, j) => `t${j}`).filter(() => rng.next() < 0.25),
        rng.next() < 0.15 ? 2 : 1,
      ),
    );
    const chain = chainCosts(tasks, (name) => tasks.find((t) => t.name === name)!.cost);
    const hlfet = tasks.map((t) => t.name).sort((a, b) => chain.get(b)! - chain.get(a)!);
    const jobs = 1 + rng.int(3);
    const planned = simulatedSeconds(tasks, plannedOrder(tasks, jobs), jobs);
    assert.ok(planned <= simulatedSeconds(tasks, hlfet, jobs), `trial ${trial}`);
  }
});

test.run();
