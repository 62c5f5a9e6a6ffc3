// The default --help prints for an option is in the form the option takes: `--load-weights` showed
// {"sessions":0,"egress":0.8,"cpu":0.2} and refused it, `--hub` showed ["http://127.0.0.1:8080"] and refused it.
import { describe, expect, it } from 'vitest';
import type { Command, Option } from 'commander';
import { loadWeights } from '../../node-app/cli/parsers.js';
import { createProgram } from '../../node-app/cli/program.js';

function withDefaults(): [string, Option][] {
  const out: [string, Option][] = [];
  const walk = (cmd: Command) => {
    for (const o of cmd.options) if (o.defaultValue !== undefined && !o.isBoolean()) out.push([`${cmd.name()} ${o.long}`, o]);
    for (const sub of cmd.commands) walk(sub);
  };
  walk(createProgram());
  return out;
}

describe('baton --help: defaults in the form their option takes', () => {
  it.each(withDefaults())('%s', (_name, o) => {
    // As commander prints it; a string's quotes are the shell's.
    const shown = o.defaultValueDescription || JSON.stringify(o.defaultValue);
    if (Array.isArray(o.defaultValue) && o.defaultValue.length === 0) return void expect(shown).toBe('none');
    const text = typeof o.defaultValue === 'string' && !o.defaultValueDescription ? o.defaultValue : shown;
    if (o.argChoices) return void expect(o.argChoices).toContain(text);
    if (!o.parseArg) return;
    expect(o.parseArg(text, undefined)).toEqual(o.defaultValue);
  });

  it('--load-weights takes the JSON object a config file holds ("loadWeights": {…}) as well as sessions=N,…', () => {
    expect(loadWeights('{"sessions":0,"egress":0.8,"cpu":0.2}')).toEqual({ sessions: 0, egress: 0.8, cpu: 0.2 });
    expect(loadWeights('{"egress":1}')).toEqual({ sessions: 0, egress: 1, cpu: 0.2 });
    expect(loadWeights('sessions=0,egress=0.8,cpu=0.2')).toEqual({ sessions: 0, egress: 0.8, cpu: 0.2 });
    for (const bad of ['{"egress":-1}', '{"egress":"1"}', '{"gpu":1}', '[1]', '{', 'egress=x'])
      expect(() => loadWeights(bad), bad).toThrow(/expected sessions=N,egress=N,cpu=N or \{"sessions":N/);
  });
});
