// The simulator's calendar queue of viewer events: (time, viewer), earliest first, with each viewer's record inline.

/**
 * The viewers' pending events, (time, viewer), earliest first, ties broken by
 * viewer: a calendar queue. Each viewer on the air has exactly one pending
 * event (its next block read or its departure). Time is cut into buckets of
 * `BUCKET_MS`; a ring of `SLOTS` buckets keeps each future event in its slot's
 * `SLOT_CAP` places (time and viewer side by side, so that taking a bucket out
 * reads a few consecutive lines, not one record per event, each behind the
 * last), or past them in a linked list threaded through the viewers' records:
 * queueing one allocates nothing and costs a few writes. The earliest bucket's events are taken out
 * and sorted (a handful at a time) into the *run*; an event that falls at or
 * before that bucket (an arrival's first read, a departure just after the last
 * read) is inserted into the run in order. Invariant: every run event's bucket
 * ≤ `#bucket` < every listed event's bucket, so the run's first is the earliest.
 *
 * The records (`rec`, `STRIDE` numbers per viewer) also carry the simulator's
 * own per-viewer fields from `FIRST_FREE_FIELD` on.
 */
export class EventQueue {
  static readonly STRIDE = 6;
  static readonly FIRST_FREE_FIELD = 2;
  /** ≈ 4 events per bucket at full scale (≈ 27,000 viewers reading every 8–67 s). */
  static readonly BUCKET_MS = 4;
  /** The ring spans 2^15 × 4 ms ≈ 131 s; an event further ahead waits in its slot for later laps. */
  static readonly SLOTS = 1 << 15;
  /** Events a slot keeps in place; more (a burst, or far events waiting for a later lap) go to its list. */
  static readonly SLOT_CAP = 16;
  /**
   * Viewer v's record from `STRIDE × v`: the time of its pending event and the next viewer in the
   * same slot's list (-1 ends; both only while the event is in a list), then the owner's fields.
   */
  rec = new Float64Array(EventQueue.STRIDE * 1024);
  readonly #head = new Int32Array(EventQueue.SLOTS).fill(-1);
  /** Slot s keeps `#placed[s]` events in place, from `SLOT_CAP × s` on: their times and viewers. */
  readonly #placedT = new Float64Array(EventQueue.SLOTS * EventQueue.SLOT_CAP);
  readonly #placedV = new Int32Array(EventQueue.SLOTS * EventQueue.SLOT_CAP);
  readonly #placed = new Uint8Array(EventQueue.SLOTS);
  /** The run: sorted events from index `#r0` to `#r1`. */
  #runT = new Float64Array(64);
  #runV = new Int32Array(64);
  #r0 = 0;
  #r1 = 0;
  #bucket = -1;
  size = 0;
  /** Buckets taken into the run so far: the owner sees when the next bucket's events become known. */
  fills = 0;

  topTime(): number {
    if (this.#r0 === this.#r1 && !this.#fill()) return Infinity;
    return this.#runT[this.#r0]!;
  }

  /** The viewer of the earliest event; call after `topTime`. */
  topViewer(): number {
    return this.#runV[this.#r0]!;
  }

  push(t: number, v: number): void {
    this.size++;
    const b = Math.floor(t / EventQueue.BUCKET_MS);
    if (b <= this.#bucket) return this.#insertRun(t, v);
    const slot = b % EventQueue.SLOTS;
    const k = this.#placed[slot]!;
    if (k < EventQueue.SLOT_CAP) {
      this.#placed[slot] = k + 1;
      this.#placedT[EventQueue.SLOT_CAP * slot + k] = t;
      this.#placedV[EventQueue.SLOT_CAP * slot + k] = v;
      return;
    }
    const i = EventQueue.STRIDE * v;
    this.rec[i] = t;
    this.rec[i + 1] = this.#head[slot]!;
    this.#head[slot] = v;
  }

  /** Replaces the earliest event (the one `topTime` returned) with (t, v). */
  replaceTop(t: number, v: number): void {
    this.pop();
    this.push(t, v);
  }

  pop(): void {
    this.size--;
    if (++this.#r0 === this.#r1) this.#r0 = this.#r1 = 0;
  }

  /** Moves on to the next bucket holding events and sorts them into the run; false when empty. */
  #fill(): boolean {
    if (this.size === 0) return false;
    const rec = this.rec;
    const head = this.#head;
    for (;;) {
      const b = ++this.#bucket;
      const slot = b % EventQueue.SLOTS;
      const placed = this.#placed[slot]!;
      if (placed > 0) {
        // Events of later laps stay, moved up over the ones taken out.
        const T = this.#placedT;
        const V = this.#placedV;
        const first = EventQueue.SLOT_CAP * slot;
        let kept = first;
        for (let k = first; k < first + placed; k++) {
          const t = T[k]!;
          if (Math.floor(t / EventQueue.BUCKET_MS) === b) this.#insertRun(t, V[k]!);
          else {
            T[kept] = t;
            V[kept++] = V[k]!;
          }
        }
        this.#placed[slot] = kept - first;
      }
      let prev = -1;
      for (let v = head[slot]!; v >= 0; ) {
        const t = rec[EventQueue.STRIDE * v]!;
        const after = rec[EventQueue.STRIDE * v + 1]!;
        if (Math.floor(t / EventQueue.BUCKET_MS) === b) {
          if (prev < 0) head[slot] = after;
          else rec[EventQueue.STRIDE * prev + 1] = after;
          this.#insertRun(t, v);
        } else {
          prev = v;
        }
        v = after;
      }
      if (this.#r1 > this.#r0) {
        this.fills++;
        return true;
      }
    }
  }

  /** Inserts into the run in (time, viewer) order; runs are short, so from the end. */
  #insertRun(t: number, v: number): void {
    if (this.#r1 === this.#runT.length) {
      const n = this.#r1 - this.#r0;
      const t2 = new Float64Array(Math.max(64, 2 * n));
      const v2 = new Int32Array(t2.length);
      t2.set(this.#runT.subarray(this.#r0, this.#r1));
      v2.set(this.#runV.subarray(this.#r0, this.#r1));
      this.#runT = t2;
      this.#runV = v2;
      this.#r0 = 0;
      this.#r1 = n;
    }
    const T = this.#runT;
    const V = this.#runV;
    let i = this.#r1++;
    while (i > this.#r0) {
      const tp = T[i - 1]!;
      if (tp < t || (tp === t && V[i - 1]! < v)) break;
      T[i] = tp;
      V[i] = V[i - 1]!;
      i--;
    }
    T[i] = t;
    V[i] = v;
  }

  /**
   * Writes into `out` the viewers of the events listed for the bucket after the run's (taken into
   * the run by the next `topTime` that finds the run empty); returns how many (at most `out.length`).
   */
  nextBucketViewers(out: Int32Array): number {
    const b = this.#bucket + 1;
    const rec = this.rec;
    const slot = b % EventQueue.SLOTS;
    let n = 0;
    for (let k = EventQueue.SLOT_CAP * slot, end = k + this.#placed[slot]!; k < end && n < out.length; k++)
      if (Math.floor(this.#placedT[k]! / EventQueue.BUCKET_MS) === b) out[n++] = this.#placedV[k]!;
    for (let v = this.#head[slot]!; v >= 0 && n < out.length; v = rec[EventQueue.STRIDE * v + 1]!)
      if (Math.floor(rec[EventQueue.STRIDE * v]! / EventQueue.BUCKET_MS) === b) out[n++] = v;
    return n;
  }

  /** Makes room for viewer v's record (call before filling it in). */
  reserve(v: number): void {
    if (EventQueue.STRIDE * (v + 1) <= this.rec.length) return;
    const grown = new Float64Array(2 * this.rec.length);
    grown.set(this.rec);
    this.rec = grown;
  }
}
