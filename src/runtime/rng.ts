/** A small seeded PRNG (sfc32) that every source of randomness in pitlab draws from. */

/** Serializable generator state, so checkpoints can resume the exact random stream. */
export type RngState = [number, number, number, number];

/** 32-bit string hash (FNV-1a), used to derive independent child streams by name. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * sfc32: fast, passes PractRand, and its whole state is four uint32s, so it checkpoints trivially.
 * Math.random is never used in pitlab: reproducibility needs every draw to come from a seed.
 */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | RngState) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) {
      this.s.set(seed);
    } else {
      this.s.set([0x9e3779b9, 0x243f6a88, 0xb7e15162, seed >>> 0]);
      for (let i = 0; i < 15; i++) this.nextUint32(); // warm up: decorrelates nearby seeds
    }
  }

  /** Uniform uint32. */
  nextUint32(): number {
    const s = this.s;
    const t = (((s[0]! + s[1]!) >>> 0) + s[3]!) >>> 0;
    s[3] = (s[3]! + 1) >>> 0;
    s[0] = s[1]! ^ (s[1]! >>> 9);
    s[1] = (s[2]! + (s[2]! << 3)) >>> 0;
    s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) >>> 0;
    s[2] = (s[2]! + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A fresh 31-bit seed, for APIs (tf.random*) that take a numeric seed. */
  seed(): number {
    return this.nextUint32() >>> 1;
  }

  /** Standard normal draw (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** In-place Fisher–Yates shuffle; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** One element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: cannot pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** An independent stream named `label`, derived without advancing this one. */
  fork(label: string): Rng {
    const s = this.s;
    const h = hash32(label);
    return new Rng((s[0]! ^ h ^ Math.imul(s[3]!, 0x85ebca6b)) >>> 0);
  }

  getState(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  setState(state: RngState): void {
    this.s.set(state);
  }
}
