/** Shared by the profile-* scripts: prints `tf.profile` kernel times summed per key. */
import type { KernelTally } from '../src/bench/profile';

export { tallyKernels } from '../src/bench/profile';

/** Prints the `top` keys with the most time: `   12.3 ms    40×  Name`. */
export function printTally(tally: KernelTally, top: number, countWidth: number): void {
  for (const [k, e] of tally.rows.slice(0, top)) {
    console.log(`${e.ms.toFixed(1).padStart(8)} ms ${String(e.n).padStart(countWidth)}×  ${k}`);
  }
}
