// The hub's recent decisions, one bounded log per kind, so a quiet cluster's
// director rotations (one every 30 s) never push viewer history out.
import type { DecisionEvent } from './protocol/messages.js';

/** Entries kept per kind (watch selections, ingest assignments, director changes). */
export const DECISIONS_PER_KIND = 50;

type Kind = DecisionEvent['kind'];

export class DecisionLog {
  readonly #perKind: number;
  readonly #logs = new Map<Kind, { seq: number; d: DecisionEvent }[]>();
  #seq = 0;

  constructor(perKind = DECISIONS_PER_KIND) {
    this.#perKind = perKind;
  }

  record(d: DecisionEvent): void {
    let log = this.#logs.get(d.kind);
    if (!log) this.#logs.set(d.kind, (log = []));
    log.push({ seq: this.#seq++, d });
    if (log.length > this.#perKind) log.shift();
  }

  /** Every kept decision, oldest first, in the order they were recorded. */
  all(): DecisionEvent[] {
    return [...this.#logs.values()]
      .flat()
      .sort((a, b) => a.seq - b.seq)
      .map((e) => e.d);
  }
}
