// `baton publish --file -`: what is read from the pipe before the hub is asked, and how input that is not WebM is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { publishFile, publishStream } from '../../node-app/ingest/node-publisher.js';

/** Yields `first`, then never yields again (an encoder that keeps the pipe open). */
async function* thenSilence(first: Uint8Array): AsyncGenerator<Uint8Array> {
  yield first;
  await new Promise(() => undefined);
}

async function* pieces(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

// No hub listens here: each refusal must come from the input alone, before any connection.
const opts = { hubUrl: 'http://127.0.0.1:9', location: 'Lisbon', streamKey: 'k', name: 'standard input' };

describe('publishStream: input that is not WebM', () => {
  it('is refused at its first bytes, without waiting for 256 KiB or the end of the pipe', async () => {
    await expect(publishStream({ ...opts, input: thenSilence(new TextEncoder().encode('hello world\n')) })).rejects.toMatchObject({
      code: 'bad-file',
      message: 'standard input is not WebM: it does not start with an EBML header',
    });
  });

  it('says so for a pipe that ends early too; an EBML start that ends before its Tracks and an empty pipe keep their own reasons', async () => {
    await expect(publishStream({ ...opts, input: pieces(new Uint8Array([0x00, 0x01])) })).rejects.toThrow(
      /does not start with an EBML header/,
    );
    // The magic split over two pieces is still a start.
    await expect(publishStream({ ...opts, input: pieces(new Uint8Array([0x1a, 0x45]), new Uint8Array([0xdf, 0xa3])) })).rejects.toThrow(
      'standard input ended before its Tracks',
    );
    await expect(publishStream({ ...opts, input: pieces() })).rejects.toThrow('standard input is empty');
  });

  it('a pipe that trickles its head a byte at a time is not read back whole at every byte (quadratic): refused at 256 KiB with no Tracks', async () => {
    async function* trickle(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([0x1a, 0x45, 0xdf, 0xa3]);
      // 20,000 pieces took 10.4 s when each re-copied and re-probed the head; 262,144 would take half an hour.
      for (let i = 0; i < 300_000; i++) yield new Uint8Array(1);
    }
    await expect(publishStream({ ...opts, input: trickle() })).rejects.toThrow(/no Tracks in its first \d+ bytes/);
  }, 20_000);
});

describe('publishFile: a file that is not WebM', () => {
  it('an MP4 is refused before any connection, with the ffmpeg command that makes a WebM of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-publish-mp4-'));
    try {
      const file = join(dir, 'talk.mp4');
      // An MP4's first box: size, 'ftyp', brand.
      writeFileSync(file, Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypmp42\0\0\0\0mp42isom'), Buffer.alloc(4096)]));
      await expect(publishFile({ ...opts, file })).rejects.toMatchObject({
        code: 'bad-file',
        message: `${file} is not WebM: it does not start with an EBML header; convert it: \`ffmpeg -i ${file} -c:v libvpx -b:v 1M -c:a libopus ${join(dir, 'talk')}.webm\``,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
