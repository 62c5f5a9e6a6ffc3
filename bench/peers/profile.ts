// `node bin/run-ts.js bench/peers/profile.ts [viewers] [seconds]`: where Baton's server CPU goes while it
// serves live viewers — CPU per process and per thread from /proc: the JavaScript main thread against
// libdatachannel's native threads (SCTP, DTLS, ICE), libuv's pool and V8's helpers. (V8's own
// --cpu-prof cannot go through NODE_OPTIONS, Node 20 refuses it there: `BATON_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"`
// gives it to the cluster's processes directly, a .cpuprofile each when the run ends.)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { batonPeer } from './baton.js';
import { startPageServer } from './pages.js';
import type { NodeViewer } from './peer.js';
import { portRange } from './ports.js';

const viewers = Number(process.argv[2] ?? 10);
const seconds = Number(process.argv[3] ?? 15);

/** CPU ms per thread name of `pid` (threads of one name summed: "node", "libuv-worker", "RtcThread"…). */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '#');
      // Run time in ns (schedstat), not the 10-ms ticks of `stat`: a thread's share is often a few ticks.
      const runNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out.set(name, (out.get(name) ?? 0) + runNs / 1e6);
    } catch {
      // The thread ended.
    }
  }
  return out;
}

/** CPU ms per thread name of every pid over `ms`. */
async function window(pids: number[], ms: number): Promise<Map<number, Map<string, number>>> {
  const before = new Map(pids.map((pid) => [pid, threadCpu(pid)]));
  await new Promise((r) => setTimeout(r, ms));
  return new Map(pids.map((pid) => [pid, new Map([...threadCpu(pid)].map(([n, v]) => [n, v - (before.get(pid)!.get(n) ?? 0)]))]));
}

const tmp = mkdtempSync(join(tmpdir(), 'baton-peers-profile-'));
const pages = await startPageServer();
const peer = await batonPeer.start({ feed: 'file', tmpDir: tmp, ports: await portRange(), pagesBase: pages.base });
const open: NodeViewer[] = [];
const report: string[] = [];
try {
  // The live stream and one viewer first (the publisher starts with the first viewer), then idle = that
  // viewer gone; the loaded window has `viewers` viewers. Per-viewer cost = (loaded − idle) ÷ viewers.
  await (await peer.startNodeViewer()).close();
  await new Promise((r) => setTimeout(r, 2_000));
  const pids = peer.serverPids();
  const idle = await window(pids, seconds * 1000);
  for (let i = 0; i < viewers; i++) open.push(await peer.startNodeViewer());
  await new Promise((r) => setTimeout(r, 2_000));
  const loaded = await window(pids, seconds * 1000);
  for (const pid of pids) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const role = cmd.includes('hub') ? 'hub' : `server ${cmd[cmd.indexOf('--id') + 1]}`;
    const names = [...new Set([...idle.get(pid)!.keys(), ...loaded.get(pid)!.keys()])];
    const rows = names
      .map((n) => ({ n, idle: idle.get(pid)!.get(n) ?? 0, loaded: loaded.get(pid)!.get(n) ?? 0 }))
      .filter((r) => r.idle + r.loaded > 0)
      .sort((a, b) => b.loaded - b.idle - (a.loaded - a.idle));
    const tot = (k: 'idle' | 'loaded') => rows.reduce((a, r) => a + r[k], 0);
    report.push(
      `${role} (pid ${pid}): ${tot('idle').toFixed(0)} ms idle → ${tot('loaded').toFixed(0)} ms with ${viewers} viewers, per ${seconds} s`,
    );
    for (const r of rows)
      report.push(
        `  ${r.n.padEnd(16)} ${r.idle.toFixed(0).padStart(6)} → ${r.loaded.toFixed(0).padStart(6)} ms  (${((r.loaded - r.idle) / (viewers * seconds)).toFixed(2)} ms per viewer-second)`,
      );
  }
} finally {
  await Promise.all(open.map((v) => v.close()));
  await peer.stop();
  await pages.close();
}
console.log(report.join('\n'));
rmSync(tmp, { recursive: true, force: true });
process.exit(0); // the page server's and esbuild's handles would keep it alive
