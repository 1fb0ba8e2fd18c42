/** The kernel over real ZMQ: interrupt keeps state, async output lands in its own cell. */
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plainOf, streamText, TestKernel } from './client';

const NOTEBOOKS = path.resolve(__dirname, 'fixtures');
let kernel: TestKernel;

test.before(async () => {
  kernel = await TestKernel.start(NOTEBOOKS);
});
test.after(async () => {
  await kernel?.close();
});

test('the last value is an execute_result with text/plain', async () => {
  const r = await kernel.execute('const answer = 6 * 7;\nanswer');
  assert.is(r.reply.content.status, 'ok');
  assert.is(plainOf(r.outputs, 'execute_result'), '42');
});

test('SIGINT stops a busy loop, the kernel answers, and later cells see earlier state', async () => {
  await kernel.execute('let before = "kept"');
  const started = Date.now();
  const pending = kernel.execute('let spins = 0;\nwhile (true) { spins++; }', 30_000);
  await new Promise((r) => setTimeout(r, 1500));
  kernel.proc.kill('SIGINT');
  const r = await pending;
  assert.is(r.reply.content.status, 'error');
  assert.is(r.reply.content.ename, 'KeyboardInterrupt');
  assert.ok(Date.now() - started < 15_000, 'interrupt took too long');
  const next = await kernel.execute('before.toUpperCase()');
  assert.is(plainOf(next.outputs, 'execute_result'), "'KEPT'");
});

test('SIGINT abandons a pending top-level await', async () => {
  const pending = kernel.execute('await new Promise(() => {});', 30_000);
  await new Promise((r) => setTimeout(r, 1000));
  kernel.proc.kill('SIGINT');
  const r = await pending;
  assert.is(r.reply.content.ename, 'KeyboardInterrupt');
  const next = await kernel.execute('answer + 1');
  assert.is(next.reply.content.status, 'ok');
});

test('output from a timer lands in the cell that started it, not the running one', async () => {
  const first = await kernel.execute(
    'setTimeout(() => console.log("late from first"), 300);\n"scheduled"',
  );
  const second = await kernel.execute(
    'await new Promise((r) => setTimeout(r, 1000));\nconsole.log("second");',
  );
  assert.is(streamText(second.outputs), 'second\n');
  assert.is(streamText(kernel.outputsOf(first)), 'late from first\n');
});

test('a cell that leaves tensors alive gets a note; a tidy cell does not', async () => {
  const leak = await kernel.execute(
    "import { runtime } from 'pitlab';\nconst t = runtime.tf.ones([4, 4]);",
  );
  assert.is(leak.reply.content.status, 'ok', JSON.stringify(leak.reply.content));
  assert.match(String(plainOf(leak.outputs, 'display_data')), /1 new tensor alive \(64 B\)/);
  const tidy = await kernel.execute(
    'runtime.tf.tidy(() => runtime.tf.ones([2]).sum().dataSync()[0])',
  );
  assert.not.ok(tidy.outputs.some((m) => m.header.msg_type === 'display_data'));
});

test('progress updates one display in place', async () => {
  const r = await kernel.execute(
    'const p = progress("train", 3);\np.update(1);\np.update(2, "loss 0.5");\np.done();',
  );
  const types = r.outputs.map((m) => m.header.msg_type);
  assert.equal(types, [
    'execute_input',
    'display_data',
    'update_display_data',
    'update_display_data',
    'update_display_data',
  ]);
  const ids = new Set(
    r.outputs.slice(1).map((m) => (m.content.transient as { display_id: string }).display_id),
  );
  assert.is(ids.size, 1);
});

test.run();
