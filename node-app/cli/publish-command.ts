// `baton publish`: broadcast a WebM file to a primary and a backup entry server.
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { PublishFileOptions } from '../ingest/node-publisher.js';
import { descriptionSchema, locationSchema, publishSchema, titleSchema } from '../../signaling/protocol/messages.js';
import { assetId, firstReachable, num, opt, textOf, toolHubOption } from './parsers.js';
import { publishHint } from './refusal-hints.js';
import { terminalText } from './terminal-text.js';

/** What the hub checks a publish request with: the flags that end up in it are bounded by it. */
const publish = publishSchema.shape;

/** How long a silent standard input waits before `--file -` says it is waiting for it, ms. */
const SILENT_INPUT_NOTE_MS = 3_000;

/** Adds `baton publish` (a file broadcaster) to `program`. */
export function addPublishCommand(program: Command): void {
  program
    .command('publish')
    .description(
      'Broadcast WebM to a primary and a backup entry server: a file at its bitrate, or `--file -` to send what a live encoder pipes in as it comes.',
    )
    .addOption(toolHubOption())
    .requiredOption(
      '--file <path>',
      'WebM file to broadcast, or - for WebM on standard input (ffmpeg … -f webm - | baton publish --file - …)',
    )
    .requiredOption('--location <text>', 'where you are: a place name ("Lisbon", "Osaka, JP") or "lat,lon"', location)
    .addOption(
      opt('--stream-key <key>', 'stream key (required)', 'BATON_STREAM_KEY', textOf('stream-key', publish.streamKey)).makeOptionMandatory(),
    )
    .option('--stream-id <id>', 'stream id ([A-Za-z0-9_-], ≤ 64); the hub picks one when absent', assetId)
    .option(
      '--title <text>',
      'what viewers see instead of the stream id (≤ 200 characters); stored with the recording',
      textOf('title', titleSchema),
    )
    .option(
      '--description <text>',
      'a description (≤ 2,000 characters); stored with the recording',
      textOf('description', descriptionSchema),
    )
    .option('--fast', 'upload as fast as the servers allow instead of at the media bitrate')
    .addOption(opt('--speed <x>', 'paced uploads: multiple of the media bitrate', 'BATON_PUBLISH_SPEED', num('speed', 0.1, 1000), 1))
    .addOption(
      opt(
        '--resend-buffer-mb <n>',
        'memory kept to resend to a replacement server, MiB (default 64); past it a file is read again, while a stream piped in (--file -) can be resent only as far back as it holds',
        'BATON_PUBLISH_RESEND_MB',
        num('resend-buffer-mb', 0.1, 4096),
      ),
    )
    .addOption(opt('--forwarded-for <ip>', 'send X-Forwarded-For (a hub honours it only from a trusted proxy)', 'BATON_FORWARDED_FOR'))
    .option('--json', 'print a JSON summary { primary, backup, bytes, sha256, … }')
    .action(async (o) => {
      const { publishFile, publishStream } = await import('../ingest/node-publisher.js');
      const { TerminalProgress, uploadsDetail } = await import('./progress-bar.js');
      const { hubsOf } = await import('../../client-sdk/hub-list.js');
      const location = placeOf(o.location);
      const progress = process.stderr.isTTY && !o.json ? new TerminalProgress(process.stderr) : undefined;
      // Most lines carry what a hub or server said: shown, never obeyed by the terminal.
      const note = (line: string) => (progress ? progress.log(terminalText(line)) : console.error(terminalText(line)));
      let waiting: ReturnType<typeof setTimeout> | undefined;
      // A file's first Ctrl-C ends it at the next Cluster; standard input's ends when the encoder closes the pipe.
      const stop = new AbortController();
      try {
        if (o.file === '-' && (o.fast || o.speed !== 1))
          throw new Error('--fast and --speed pace a file; a live encoder on standard input sets its own pace');
        if (o.file === '-') {
          if (process.stdin.isTTY)
            throw new Error(
              '--file - reads WebM from standard input, which is a terminal here: pipe an encoder in (ffmpeg … -f webm - | baton publish --file - …)',
            );
          onCtrlC(note, 'the broadcast ends and is finalized when the input ends');
          // An encoder may take a while to start; a pipe that stays silent says so rather than nothing.
          waiting = setTimeout(() => note('baton publish: waiting for WebM on standard input…'), SILENT_INPUT_NOTE_MS);
        } else onCtrlC(note, 'the broadcast ends at the next Cluster and is finalized on both servers', () => stop.abort());
        const hubUrl = await firstReachable(o.hub);
        const common: Omit<PublishFileOptions, 'file'> = {
          hubUrl,
          // A hub that goes away mid-broadcast is not the end of it: the socket comes back on it or another of the cluster.
          reconnect: true,
          alternates: await hubsOf(hubUrl, o.hub),
          location,
          streamKey: o.streamKey,
          streamId: o.streamId,
          title: o.title,
          description: o.description,
          fast: Boolean(o.fast),
          speed: o.speed,
          forwardedFor: o.forwardedFor,
          ...(o.resendBufferMb ? { resendBufferBytes: Math.round(o.resendBufferMb * 1024 * 1024) } : {}),
          onAssigned: (p) => {
            clearTimeout(waiting);
            if (o.json) return;
            const u = p.uploads();
            note(`stream ${p.streamId}: ${u.map((x) => `${x.role} ${x.serverId} (${x.region})`).join(', ')}`);
            p.addEventListener('failover', (e) => note(`failover: ${e.detail.from} → ${e.detail.to} (${e.detail.role})`));
            p.addEventListener(
              'health',
              (e) => e.detail.error && note(`${e.detail.serverId} failed: ${e.detail.error.code}: ${e.detail.error.message}`),
            );
            p.addEventListener('warning', (e) => note(`warning: ${e.detail.code}: ${e.detail.message}`));
          },
        };
        const r =
          o.file === '-'
            ? await publishStream({ ...common, input: process.stdin, name: 'standard input' })
            : await publishFile({
                ...common,
                file: resolve(o.file),
                stop: stop.signal,
                onProgress: progress && ((p) => progress.update({ bytes: p.bytes, total: p.total, detail: uploadsDetail(p, p.total) })),
              });
        progress?.clear();
        if (o.json) console.log(JSON.stringify(r));
        else
          console.log(
            terminalText(
              `published ${r.streamId}: ${r.bytes} bytes, sha256 ${r.sha256}, stored on ${r.stored.join(' and ')}${r.failovers.length ? ` after ${r.failovers.length} failover(s)` : ''}${r.interrupted ? ' (interrupted before the end of the file)' : ''}`,
            ),
          );
        process.exit(r.interrupted ? 130 : 0);
      } catch (err) {
        clearTimeout(waiting);
        progress?.clear();
        const e = err as Error & { code?: string };
        if (o.json) console.log(JSON.stringify({ ok: false, code: e.code ?? 'error', message: e.message }));
        console.error(terminalText(`baton publish: ${e.code ? `${e.code}: ` : ''}${e.message}`));
        const hint = publishHint(e.code);
        if (hint) console.error(`  ${hint}`);
        process.exit(stop.signal.aborted ? 130 : 1);
      }
    });
}

/**
 * The first Ctrl-C ends the broadcast the normal way (`ends` says how), finalized on both servers. With `--file -`
 * that is the encoder's doing: Ctrl-C in a terminal reaches it too (`ffmpeg … | baton publish --file -`), it writes its
 * last frames and closes the pipe; with a file, `stop` ends the upload at the next Cluster. A second Ctrl-C quits at
 * once, and the servers keep what arrived in whole blocks.
 */
function onCtrlC(note: (line: string) => void, ends: string, stop?: () => void): void {
  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) {
      note('baton publish: quitting; the entry servers keep what arrived (finalized once they give the broadcast up)');
      process.exit(130);
    }
    interrupted = true;
    note(`baton publish: interrupted; ${ends} (Ctrl-C again to quit now)`);
    stop?.();
  });
}

/** `--location` as the publish request carries it: `lat,lon` as coordinates, anything else as a place name. */
function placeOf(text: string): string | { lat: number; lon: number } {
  const coords = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  return coords ? { lat: Number(coords[1]), lon: Number(coords[2]) } : text;
}

/** `--location`, refused here as the hub would refuse it (coordinates out of range, a name over 120 characters). */
function location(v: string): string {
  const r = locationSchema.safeParse(placeOf(v));
  if (r.success) return v;
  throw new InvalidArgumentError('expected a place name of 1–120 characters or "lat,lon" with lat in -90..90 and lon in -180..180');
}
