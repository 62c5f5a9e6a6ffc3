// `baton watch` and `baton publish` against a hostile hub: what the hub says is printed, never obeyed by the terminal.
import { execFile } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalText } from '../../node-app/cli/terminal-text.js';
import { BATON, ROOT } from '../helpers/cluster.js';

/** Clears the screen, retitles the window, sets the clipboard (OSC 52), a one-byte CSI, and reverses the text after it. */
const HOSTILE = '\x1b[2J\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m\r\u202Eevil';

describe('terminalText', () => {
  it('writes out what a terminal would act on and leaves the rest, tabs and newlines included', () => {
    expect(terminalText('plain text, tab\tand\nnewline, ünïcödé ✓')).toBe('plain text, tab\tand\nnewline, ünïcödé ✓');
    expect(terminalText(HOSTILE)).toBe('\\u001b[2J\\u001b]0;owned\\u0007\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u009b31m\\u000d\\u202eevil');
    expect(terminalText('\x00\x7f\u2066\u2069\u200f')).toBe('\\u0000\\u007f\\u2066\\u2069\\u200f');
  });
});

describe('the CLI against a hub that sends escape sequences', () => {
  let http: HttpServer;
  let io: Server;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'baton-ansi-'));

  beforeAll(async () => {
    http = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    io = new Server(http, { transports: ['websocket'] });
    // Every request on /client is refused with a code and a message full of escape sequences.
    io.of('/client').on('connection', (socket) => {
      socket.onAny((...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (typeof ack === 'function') ack({ ok: false, code: `bad${HOSTILE.slice(0, 20)}`, message: `refused ${HOSTILE}` });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    io.close();
    await new Promise((r) => http.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BATON, ...args], { cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
      );
    });
  const obeyable = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/;

  it('baton watch prints the refusal with its escapes written out', async () => {
    const r = await run(['watch', '--hub', url, '--asset', 'some-asset', '--out', join(dir, 'x.webm')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused \\u001b[2J\\u001b]0;owned\\u0007');
    // Before, the ESC, BEL, CSI, CR and U+202E went to the terminal as they came.
    expect(r.stderr).not.toMatch(obeyable);
  }, 90_000);

  it('baton publish too', async () => {
    const file = join(ROOT, 'media/demo/demo-smpte.webm');
    const r = await run(['publish', '--hub', url, '--file', file, '--location', 'Lisbon', '--stream-key', 'some-stream-key']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('\\u202eevil');
    expect(r.stderr).not.toMatch(obeyable);
  }, 90_000);
});
