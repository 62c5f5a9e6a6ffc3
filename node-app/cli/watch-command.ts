// `baton watch`: watch an asset headlessly and save it to a file.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { linkLimitBps } from '../../signaling/protocol/frames.js';
import { assetId, firstReachable, intOf, opt, timerMs, toolHubOption } from './parsers.js';
import { watchHint } from './refusal-hints.js';
import { terminalText } from './terminal-text.js';

/** Adds `baton watch` (a headless viewer) to `program`. */
export function addWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('Watch an asset headlessly over WebRTC and save it to a file.')
    .addOption(toolHubOption())
    .requiredOption('--asset <id>', 'asset id', assetId)
    .requiredOption('--out <file>', 'where to write the received bytes')
    .option('--json', 'print a JSON summary { server, reason, bytes, sha256, ttfbMs }')
    .option('--fast', 'ask for unpaced delivery (as fast as the channel allows) instead of playback pace')
    .addOption(
      opt(
        '--limit-kbps <n>',
        'ask servers to send no faster than this, kbit/s (to try a slow link)',
        'BATON_WATCH_LIMIT_KBPS',
        intOf('limit-kbps', linkLimitBps, 1000),
      ),
    )
    .addOption(
      opt(
        '--timeout-ms <ms>',
        'give up when no byte has arrived for this long (a paced watch of a long asset, or a live stream, goes on while bytes come)',
        'BATON_WATCH_TIMEOUT_MS',
        timerMs('timeout-ms', 1000),
        120_000,
      ),
    )
    .action(async (o) => {
      const { watchToFile } = await import('../delivery/node-viewer.js');
      const { hubsOf } = await import('../../client-sdk/hub-list.js');
      const { TerminalProgress } = await import('./progress-bar.js');
      const progress = process.stderr.isTTY && !o.json ? new TerminalProgress(process.stderr) : undefined;
      // Ctrl-C or a stop: the watch is abandoned and its temporary file deleted before the exit (130 / 143, as a shell's);
      // of a live stream, what arrived is kept (a recorder's stop: the broadcast up to there).
      const abandon = new AbortController();
      let stoppedBy: NodeJS.Signals | undefined;
      const onSignal = (sig: NodeJS.Signals) => {
        stoppedBy ??= sig;
        abandon.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const hubUrl = await firstReachable(o.hub);
        const r = await watchToFile({
          hubUrl,
          // A hub that goes away mid-watch is not the end of it: the socket comes back on it or another of the cluster.
          reconnect: true,
          alternates: await hubsOf(hubUrl, o.hub),
          assetId: o.asset,
          out: resolve(o.out),
          fast: Boolean(o.fast),
          ...(o.limitKbps !== undefined ? { limitBps: o.limitKbps * 1000 } : {}),
          timeoutMs: o.timeoutMs,
          timeout: 'stall',
          keepLiveOnStop: true,
          signal: abandon.signal,
          onProgress: progress && ((p) => progress.update(p)),
        });
        progress?.clear();
        if (o.json) console.log(JSON.stringify(r));
        else
          console.log(
            terminalText(
              `received ${r.bytes} bytes from ${r.server} (${r.reason}), sha256 ${r.sha256}, first byte after ${r.ttfbMs} ms; saved to ${o.out}`,
            ),
          );
        process.exit(0);
      } catch (err) {
        progress?.clear();
        if (stoppedBy) {
          const saved = (err as { savedBytes?: number }).savedBytes;
          console.error(
            saved === undefined
              ? `baton watch: stopped (${stoppedBy}); nothing saved to ${o.out}`
              : terminalText(`baton watch: stopped (${stoppedBy}); kept ${saved} bytes of the live stream in ${o.out}`),
          );
          process.exit(stoppedBy === 'SIGINT' ? 130 : 143);
        }
        const e = err as Error & { code?: string };
        if (o.json) console.log(JSON.stringify({ ok: false, code: e.code ?? 'error', message: e.message }));
        else {
          console.error(terminalText(`baton watch: ${e.code ? `${e.code}: ` : ''}${e.message}`));
          const hint = watchHint(e.code, o.hub[0]!);
          if (hint) console.error(`  ${hint}`);
        }
        process.exit(1);
      }
    });
}
