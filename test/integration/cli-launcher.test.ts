// `baton --version`, and bin/baton.js choosing the compiled CLI only while it is
// current: a fake project tree around a copy of the real launcher shows which
// entry point it ran.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BATON, ROOT } from '../helpers/cluster.js';

const run = (bin: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(process.execPath, [bin, ...args], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' }).trim();

describe('baton CLI', () => {
  it('--version and -V print the version in package.json', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run(BATON, ['--version'])).toBe(version);
    expect(run(BATON, ['-V'])).toBe(version);
    expect(run(BATON, ['--help'])).toMatch(/-V, --version/);
  });

  it('refuses odd numbers and ids before doing anything, naming the flag (not a hub refusal later)', () => {
    const refusal = (args: string[]) => {
      try {
        // Bounded: a server the parser let through would try to reach its hub until killed.
        execFileSync(process.execPath, [BATON, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 15_000, stdio: 'pipe' });
        return 'exit 0';
      } catch (err) {
        return String((err as { stderr?: string }).stderr);
      }
    };
    const secret = ['--cluster-secret', 'a-cluster-secret-of-some-length'];
    expect(refusal(['server', '--hub', 'http://127.0.0.1:9', ...secret, '--id', 'fra 1', '--storage', tmpdir()])).toMatch(
      /option '--id <id>' argument 'fra 1' is invalid/,
    );
    expect(refusal(['stream-key', '--stream-key-secret', 'a-stream-key-secret-0', '--valid-minutes', '0x10'])).toMatch(
      /valid-minutes must be an integer/,
    );
    expect(refusal(['stream-key', '--stream-key-secret', 'a-stream-key-secret-0', '--stream-id', '../x'])).toMatch(
      /--stream-id <id>' argument '..\/x' is invalid/,
    );
    expect(refusal(['hub', '--port', '', ...secret])).toMatch(/port must be an integer/);
  });

  describe('bin/baton.js', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-launcher-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'node-app/cli'), { recursive: true });
    mkdirSync(join(dir, 'dist/node/node-app/cli'), { recursive: true });
    copyFileSync(BATON, join(dir, 'bin/baton.js'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'baton', type: 'module' }));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const source = join(dir, 'node-app/cli/main.ts');
    writeFileSync(source, "const from: string = 'source';\nconsole.log(from);\n");
    writeFileSync(join(dir, 'dist/node/node-app/cli/main.js'), "console.log('compiled');\n");
    const built = (startedAtMs: number) =>
      writeFileSync(join(dir, 'dist/node/build-info.json'), JSON.stringify({ startedAtMs, sources: ['node-app/cli/main.ts'] }));
    const launcher = join(dir, 'bin/baton.js');

    it('runs the compiled CLI when no source changed since the build', () => {
      const past = new Date(Date.now() - 60_000);
      utimesSync(source, past, past);
      built(Date.now());
      expect(run(launcher, [])).toBe('compiled');
    });

    it('runs the TypeScript through tsx when a source is newer than the build', () => {
      built(Date.now() - 120_000);
      utimesSync(source, new Date(), new Date());
      expect(run(launcher, [])).toBe('source');
    });

    it('runs the TypeScript when a source of the build is gone, or there is no build', () => {
      built(Date.now() + 60_000);
      writeFileSync(
        join(dir, 'dist/node/build-info.json'),
        JSON.stringify({ startedAtMs: Date.now() + 60_000, sources: ['node-app/cli/gone.ts'] }),
      );
      expect(run(launcher, [])).toBe('source');
      rmSync(join(dir, 'dist/node/build-info.json'));
      expect(run(launcher, [])).toBe('source');
    });

    it('BATON_FROM_SOURCE=1 forces the TypeScript', () => {
      built(Date.now() + 60_000);
      expect(run(launcher, [], { BATON_FROM_SOURCE: '1' })).toBe('source');
    });
  });
});
