// Once per test run: make the demo clips (ffmpeg) if this machine does not have them yet, and
// stamp the run's start so figures recorded by its tests are told apart from an earlier run's.
import { ensureDemoMedia } from '../scripts/make-demo-media.js';
import { MEDIA_DIR } from './helpers/cluster.js';

export default async function setup(): Promise<void> {
  // Workers are started after global setup and inherit this environment.
  process.env.BATON_TEST_RUN_STARTED_MS = String(Date.now());
  await ensureDemoMedia(MEDIA_DIR);
}
