// Once per test run: make the demo clips (ffmpeg) if this machine does not have them yet.
import { ensureDemoMedia } from '../scripts/make-demo-media.js';
import { MEDIA_DIR } from './helpers/cluster.js';

export default async function setup(): Promise<void> {
  await ensureDemoMedia(MEDIA_DIR);
}
