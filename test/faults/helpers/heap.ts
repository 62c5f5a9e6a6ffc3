// A process's garbage collector, run from outside through the V8 inspector, so a memory figure is
// what is still reachable and not wherever the collector happened to be. The process must be started
// with NODE_OPTIONS=--inspect=127.0.0.1:0 (INSPECT_ENV); it prints the inspector's address on stderr.
import WebSocket from 'ws';
import type { Proc } from '../../helpers/cluster.js';

export const INSPECT_ENV = { NODE_OPTIONS: '--inspect=127.0.0.1:0' };

/** Runs a full collection in `p` (twice: the first may only queue finalizers) and resolves when it is done. */
export async function collectGarbage(p: Proc): Promise<void> {
  const url = p.output().match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
  if (!url) throw new Error('the process was not started with the inspector (INSPECT_ENV)');
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  try {
    for (let id = 1; id <= 2; id++) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('HeapProfiler.collectGarbage: no answer in 10 s')), 10_000);
        const onMessage = (data: WebSocket.RawData) => {
          if ((JSON.parse(String(data)) as { id?: number }).id !== id) return;
          clearTimeout(timer);
          ws.off('message', onMessage);
          resolve();
        };
        ws.on('message', onMessage);
        ws.send(JSON.stringify({ id, method: 'HeapProfiler.collectGarbage' }));
      });
    }
  } finally {
    ws.close();
  }
}
