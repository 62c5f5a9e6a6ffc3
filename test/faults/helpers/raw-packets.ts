// Raw socket.io packets, written under socket.io-client: values its encoder would choke on
// (it walks arguments recursively) reach the hub exactly as an attacker's client would send them.
import type { Socket } from 'socket.io-client';

/** `[[[…1…]]]` nested `depth` levels, as JSON text. */
export function deepJson(depth: number, leaf = '1'): string {
  return '['.repeat(depth) + leaf + ']'.repeat(depth);
}

let nextId = 900_000;

/** Writes an EVENT packet on `ns` with JSON `argsJson` (the array's inner text); no ack. */
export function rawEmit(s: Socket, ns: string, event: string, argsJson: string): void {
  s.io.engine.write(`2${ns},${JSON.stringify([event]).slice(0, -1)},${argsJson}]`);
}

/** Writes an EVENT packet asking for an ack and resolves with the ack's first argument (rejects after `timeoutMs`). */
export function rawAsk(s: Socket, ns: string, event: string, argsJson: string, timeoutMs = 5_000): Promise<unknown> {
  const id = nextId++;
  const prefix = `3${ns},${id}`;
  return new Promise((resolve, reject) => {
    const onPacket = (data: unknown) => {
      if (typeof data !== 'string' || !data.startsWith(prefix + '[')) return;
      done();
      resolve((JSON.parse(data.slice(prefix.length)) as unknown[])[0]);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no ack for raw ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      s.io.engine.off('data', onPacket);
    };
    s.io.engine.on('data', onPacket);
    s.io.engine.write(`2${ns},${id}${JSON.stringify([event]).slice(0, -1)}${argsJson ? `,${argsJson}` : ''}]`);
  });
}
