// Once per test run: make the demo clips (ffmpeg) if this machine does not have them yet, stamp the run's start so
// figures recorded by its tests are told apart from an earlier run's, and name the directory its e2e files share the
// built web client in.
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureDemoMedia } from '../scripts/make-demo-media.js';
import { SHARED_WEB_DIR_ENV } from './e2e/helpers/web-build.js';
import { MEDIA_DIR } from './helpers/cluster.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Workers are started after global setup and inherit this environment.
  process.env.BATON_TEST_RUN_STARTED_MS = String(Date.now());
  // Each project runs this setup; both share one directory, which only the run that named it removes.
  const ours = !process.env[SHARED_WEB_DIR_ENV];
  const webDir = (process.env[SHARED_WEB_DIR_ENV] ??= join(tmpdir(), `baton-web-run-${process.pid}-${Date.now()}`));
  const dropWebBuild = () => (ours ? rm(webDir, { recursive: true, force: true }) : Promise.resolve());
  // In watch mode the sources may have changed since: the next e2e file builds again.
  project.onTestsRerun(dropWebBuild);
  await ensureDemoMedia(MEDIA_DIR);
  return dropWebBuild;
}
