// Every option of every `baton` subcommand that ends in a timer (`*-ms`, `*-s`: flag, environment variable and config
// key share its parser) refuses a delay Node cannot keep (over 2^31 − 1 ms fires after 1 ms) with a clear error.
import { describe, expect, it } from 'vitest';
import type { Command, Option } from 'commander';
import { MAX_TIMER_MS } from '../../node-app/cli/parsers.js';
import { createProgram } from '../../node-app/cli/program.js';

/** [subcommand, option] for every option whose long flag names a duration in ms or s. */
function timerOptions(): [string, Option][] {
  const out: [string, Option][] = [];
  const walk = (cmd: Command) => {
    for (const o of cmd.options) if (/-(ms|s)$/.test(o.long ?? '')) out.push([cmd.name(), o]);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(createProgram());
  return out;
}

describe('baton: options that end in a timer', () => {
  const all = timerOptions();

  it('are found in every command that has them (the walk sees them all)', () => {
    const names = all.map(([cmd, o]) => `${cmd} ${o.long}`);
    for (const n of ['hub --rotation-ms', 'hub --heartbeat-ms', 'server --slow-viewer-ms', 'server --hub-return-s', 'watch --timeout-ms'])
      expect(names).toContain(n);
  });

  it.each(all.map(([cmd, o]) => [`${cmd} ${o.long}`, o] as const))('%s refuses a delay over 2^31 − 1 ms', (_name, o) => {
    expect(o.parseArg, 'a timer option must have a bounded parser').toBeTypeOf('function');
    const parse = (v: string) => o.parseArg!(v, undefined);
    const tooLong = o.long!.endsWith('-ms') ? MAX_TIMER_MS + 1 : Math.ceil((MAX_TIMER_MS + 1) / 1000);
    expect(() => parse(String(tooLong))).toThrow(/must be (an integer|a number) in \d+\.\.\d+/);
    expect(() => parse('3000000000')).toThrow(/must be/);
    // Its default is a value it accepts.
    if (typeof o.defaultValue === 'number') expect(parse(String(o.defaultValue))).toBe(o.defaultValue);
  });
});
