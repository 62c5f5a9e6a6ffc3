// The hub's WHIP and WHEP routes when server `a` registers again: as the same process, and as another one (restarted).
import { expect } from 'vitest';

interface HeldPerServer {
  readonly size: number;
  serverJoined(serverId: string, instance: string | undefined): void;
}

/**
 * `a` reconnecting as the same process and `b` restarting keep the `held` resources placed on `a`
 * (`instances`: the fake table's processes, `a-process-1` and `b-process-1`); `a` registering as another process drops them all.
 */
export function expectRestartOfADrops(routes: HeldPerServer, instances: Map<string, string>, held: number): void {
  routes.serverJoined('a', 'a-process-1');
  instances.set('b', 'b-process-2');
  routes.serverJoined('b', 'b-process-2');
  expect(routes.size).toBe(held);
  instances.set('a', 'a-process-2');
  routes.serverJoined('a', 'a-process-2');
  expect(routes.size).toBe(0);
}
