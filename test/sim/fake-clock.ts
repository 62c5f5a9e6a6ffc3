// Deterministic time for simulations: a seeded PRNG and a fake clock with an agenda.

export { seededRng as seeded } from '../helpers/seeded-rng.js';

interface Timed {
  at: number;
  seq: number;
  run: () => void;
}

/** A fake clock with a binary-heap agenda; `advance` runs everything due, in (time, insertion) order. */
export class FakeClock {
  now = 0;
  #seq = 0;
  readonly #heap: Timed[] = [];

  after(ms: number, run: () => void): void {
    this.#push({ at: this.now + ms, seq: this.#seq++, run });
  }

  /** Repeat every `ms`, first after `phaseMs`; returns a cancel function. */
  every(ms: number, run: () => void, phaseMs = ms): () => void {
    let live = true;
    const tick = () => {
      if (!live) return;
      run();
      this.after(ms, tick);
    };
    this.after(phaseMs, tick);
    return () => {
      live = false;
    };
  }

  advance(ms: number): void {
    const end = this.now + ms;
    while (this.#heap.length > 0 && this.#heap[0]!.at <= end) {
      const next = this.#pop();
      this.now = next.at;
      next.run();
    }
    this.now = end;
  }

  #push(t: Timed): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!earlier(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): Timed {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && earlier(h[l]!, h[m]!)) m = l;
        if (r < h.length && earlier(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

const earlier = (a: Timed, b: Timed) => a.at < b.at || (a.at === b.at && a.seq < b.seq);
