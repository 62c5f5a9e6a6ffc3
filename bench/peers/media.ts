// The media every peer plays: the demo asset the TTFF bench uses (VP8 + Opus WebM, 640×360, keyframe every second).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MEDIA_DIR } from '../../test/helpers/cluster.js';

export const FEED_ASSET_ID = 'demo-testsrc';
/** The demo asset's frame rate (ffprobe: 30/1), which the HLS feed keeps. */
export const FEED_FPS = 30;

export function feedAsset(): string {
  const file = join(MEDIA_DIR, `${FEED_ASSET_ID}.webm`);
  if (!existsSync(file))
    throw new Error(`${file} is missing (npm run bench makes it via the Baton peer; or node bin/run-ts.js scripts/make-demo-media.ts)`);
  return file;
}
