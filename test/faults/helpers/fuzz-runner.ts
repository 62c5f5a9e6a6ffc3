// Sends generated inputs to the hub in batches, one connection per batch, and tallies the outcome:
// every input that asked for an ack must get a well-formed one unless its connection was closed.
import type { Socket } from 'socket.io-client';
import type { HubInput } from './corpus.js';
import { OVERSIZED_CHARS } from './corpus.js';

export interface FuzzTally {
  /** Inputs written while the connection was open. */
  delivered: number;
  /** Inputs not written: an earlier one in the batch closed the connection. */
  undelivered: number;
  answered: number;
  /** Acks outstanding when the hub closed the connection (an accepted outcome). */
  closedPending: number;
  /** Acks outstanding after the deadline with the connection still open (a failure). */
  unanswered: number;
  /** Connections the hub closed. */
  closedByHub: number;
  /** `error` events the hub sent for inputs without an ack. */
  errorEvents: number;
  /** Acks that were not `{ ok: boolean, ... }` with a code when not ok. */
  malformedAcks: unknown[];
  /** The first few unanswered inputs (event and arguments, shortened), to say which. */
  unansweredSamples: string[];
}

export function newTally(): FuzzTally {
  return {
    delivered: 0,
    undelivered: 0,
    answered: 0,
    closedPending: 0,
    unanswered: 0,
    closedByHub: 0,
    errorEvents: 0,
    malformedAcks: [],
    unansweredSamples: [],
  };
}

/** Inputs likely to make the hub close the connection (sent last in their batch). */
export function closesConnection(m: HubInput): boolean {
  return (
    m.kind === 'raw' || m.args.some((a) => (typeof a === 'string' ? a.length : (JSON.stringify(a ?? null)?.length ?? 0)) >= OVERSIZED_CHARS)
  );
}

/** Splits inputs into batches of `size`. */
export function batches(inputs: HubInput[], size: number): HubInput[][] {
  const out: HubInput[][] = [];
  for (let i = 0; i < inputs.length; i += size) out.push(inputs.slice(i, i + size));
  return out;
}

function wellFormedAck(r: unknown): boolean {
  if (!r || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  return o.ok === true || (o.ok === false && typeof o.code === 'string' && typeof o.message === 'string');
}

/**
 * Runs one batch on a fresh connection from `open`: the ordinary inputs first, until every ack
 * is in, the hub closed the connection, or `answerMs` passed; then the ones likely to close it.
 */
export async function runBatch(open: () => Promise<Socket>, inputs: HubInput[], tally: FuzzTally, answerMs = 5_000): Promise<void> {
  const s = await open();
  s.on('error', () => tally.errorEvents++);
  let closed = false;
  s.once('disconnect', (why) => {
    if (why === 'io client disconnect') return;
    closed = true;
    tally.closedByHub++;
  });
  const send = (part: HubInput[]) =>
    new Promise<void>((resolve) => {
      let pending = 0;
      const waiting = new Set<HubInput>();
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(watch);
        if (closed) tally.closedPending += pending;
        else {
          tally.unanswered += pending;
          for (const m of [...waiting].slice(0, 5 - Math.min(5, tally.unansweredSamples.length)))
            tally.unansweredSamples.push(describeInput(m));
        }
        resolve();
      };
      const timer = setTimeout(settle, answerMs);
      const watch = setInterval(() => closed && settle(), 10);
      for (const m of part) {
        if (!s.connected) {
          tally.undelivered++;
          continue;
        }
        tally.delivered++;
        if (m.kind === 'raw') {
          s.io.engine.write(m.packet);
        } else if (!m.ack) {
          s.emit(m.event, ...m.args);
        } else {
          pending++;
          waiting.add(m);
          s.emit(m.event, ...m.args, (r: unknown) => {
            if (settled) return;
            pending--;
            waiting.delete(m);
            tally.answered++;
            if (!wellFormedAck(r)) tally.malformedAcks.push(r);
            if (pending === 0) settle();
          });
        }
      }
      // Nothing to wait for: give the hub a moment to close the connection, if it will.
      if (pending === 0) setTimeout(settle, 50);
    });
  await send(inputs.filter((m) => !closesConnection(m)));
  await send(inputs.filter(closesConnection));
  s.close();
}

function describeInput(m: HubInput): string {
  if (m.kind === 'raw') return `raw ${m.packet.slice(0, 120)}`;
  let args: string;
  try {
    args = JSON.stringify(m.args) ?? '';
  } catch {
    args = '(not JSON)';
  }
  return `${m.event}${m.ack ? ' (ack)' : ''} ${args.slice(0, 160)}`;
}

/** Runs batches with `concurrency` connections at a time. */
export async function runAll(open: () => Promise<Socket>, all: HubInput[][], tally: FuzzTally, concurrency = 4): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < all.length) await runBatch(open, all[next++]!, tally);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
