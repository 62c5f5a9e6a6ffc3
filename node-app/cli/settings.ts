// Where a command's settings come from besides its flags: environment booleans read as values, a JSON config file, required options.
import { type Command, InvalidArgumentError } from 'commander';
import { checkBounds } from '../../signaling/protocol/bounds.js';
import { readBoundedFile } from './bounded-file.js';
import { resolveSecrets } from './secrets.js';

/**
 * `--config FILE` (env BATON_CONFIG): a JSON object whose keys are a command's
 * long flags in camelCase (`{ "port": 8080, "clusterSecret": "…" }`). Precedence:
 * flags > environment > config file > defaults. Every value goes through the
 * same parser as its flag, so a bad value stops start-up with the key named.
 */
export function applyConfigFile(cmd: Command): void {
  const file = cmd.getOptionValue('config') as string | undefined;
  if (!file) return;
  let data: unknown;
  try {
    // Bounded as it is read: stat's size is 0 for /dev/zero or a FIFO, which never end. A byte-order mark (Windows
    // editors save UTF-8 with one) is not JSON: JSON.parse stopped at it with "Unexpected token 'U+FEFF'", the token invisible.
    data = JSON.parse(readBoundedFile(file, MAX_CONFIG_BYTES).replace(/^\uFEFF/, ''));
  } catch (err) {
    cmd.error(`config file ${file}: ${(err as Error).message}`);
  }
  // Values are re-serialised and validated below: bound them before anything walks them.
  const b = checkBounds(data, CONFIG_BOUNDS);
  if (!b.ok) cmd.error(`config file ${file}: ${b.message}`);
  if (!data || typeof data !== 'object' || Array.isArray(data)) cmd.error(`config file ${file}: must be a JSON object`);
  const byKey = new Map(cmd.options.map((o) => [o.attributeName(), o]));
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const o = byKey.get(key);
    if (!o || key === 'config') {
      const near = nearest(
        key,
        [...byKey.keys()].filter((k) => k !== 'config'),
      );
      cmd.error(`config file ${file}: unknown setting "${key}" for \`baton ${cmd.name()}\`${near ? `: did you mean "${near}"?` : ''}`);
    }
    const source = cmd.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') continue;
    let v: unknown = value;
    try {
      if (o.isBoolean()) {
        if (typeof value !== 'boolean') throw new InvalidArgumentError('must be true or false');
      } else {
        const text =
          Array.isArray(value) && value.every((x) => typeof x === 'string')
            ? value.join(',')
            : typeof value === 'object' && value !== null
              ? JSON.stringify(value)
              : String(value);
        if (o.argChoices && !o.argChoices.includes(text)) throw new InvalidArgumentError(`must be one of ${o.argChoices.join(', ')}`);
        v = o.parseArg ? o.parseArg(text, undefined) : text;
      }
    } catch (err) {
      cmd.error(`config file ${file}: "${key}": ${(err as Error).message}`);
    }
    cmd.setOptionValueWithSource(key, v, 'config');
  }
}

/** A config file is a few settings; ICE server lists are the deepest thing in one. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
const CONFIG_BOUNDS = { maxDepth: 8, maxBytes: MAX_CONFIG_BYTES, maxKeys: 10_000 };

/** Options that must have a value from a flag, the environment or the config file. */
export const REQUIRED = new Set(['--cluster-secret <s>', '--id <id>', '--storage <dir>']);
/** A required option another may stand in for, where the command has it: a media server's own key for the cluster secret. */
const STANDS_IN: Readonly<Record<string, { key: string; flags: string }>> = {
  '--cluster-secret <s>': { key: 'serverKey', flags: '--server-key <k>' },
};

/**
 * commander turns a boolean flag on whenever its environment variable is set,
 * whatever the value, so `BATON_INGEST=false` meant on. Read the value:
 * 1/true/yes/on, or 0/false/no/off/empty; anything else stops start-up.
 */
export function applyBooleanEnv(cmd: Command): void {
  for (const o of cmd.options) {
    if (!o.isBoolean() || !o.envVar || cmd.getOptionValueSource(o.attributeName()) !== 'env') continue;
    const raw = (process.env[o.envVar] ?? '').trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(raw)) cmd.setOptionValueWithSource(o.attributeName(), true, 'env');
    else if (['0', 'false', 'no', 'off', ''].includes(raw)) cmd.setOptionValueWithSource(o.attributeName(), false, 'env');
    else cmd.error(`error: ${o.envVar} must be 1/true/yes/on or 0/false/no/off, got "${process.env[o.envVar]}"`);
  }
}

/**
 * One rule for an environment variable set to nothing (`BATON_STORAGE=` in a unit file, an unset shell variable
 * expanded): it counts as unset, whatever the option. commander would hand '' to the option's parser before
 * `applyEmptyEnv` could see it, so `BATON_PORT=` stopped start-up while `BATON_STORAGE=` was taken as unset. Run before
 * commander reads `cmd`'s environment (a `preSubcommand` hook). Boolean options keep their reading (`applyBooleanEnv`).
 */
export function dropEmptyEnv(cmd: Command): void {
  for (const o of cmd.options) {
    if (o.isBoolean() || !o.envVar) continue;
    if ((process.env[o.envVar] ?? 'set').trim() === '') delete process.env[o.envVar];
  }
}

/**
 * An option set to nothing — an environment variable (`BATON_STORAGE=` in a unit file, an unset shell variable
 * expanded) or a flag (`--static-dir ""`) — counts as not set: the option keeps its default, and a required one is
 * missing. commander would take '' as the value — and '' as a path is the working directory, which `baton hub` would
 * then serve.
 */
export function applyEmptyEnv(cmd: Command): void {
  for (const o of cmd.options) {
    if (o.isBoolean()) continue;
    const key = o.attributeName();
    const source = cmd.getOptionValueSource(key);
    const empty =
      (source === 'env' && o.envVar !== undefined && (process.env[o.envVar] ?? '').trim() === '') ||
      (source === 'cli' && cmd.getOptionValue(key) === '');
    if (empty) cmd.setOptionValueWithSource(key, o.defaultValue, 'default');
  }
}

/** BATON_* variables read outside any command's options: logging, the launcher, the place index, tests and benchmarks. */
const OTHER_ENV = new Set([
  'BATON_LOG_FORMAT',
  'BATON_LOG_LEVEL',
  'BATON_FROM_SOURCE',
  'BATON_CACHE_DIR',
  'BATON_HUB_URL',
  'BATON_NODE_ARGS',
  'BATON_FIGURES_DIR',
  'BATON_CHROMIUM',
  'BATON_PEERS_PORT_BASE',
]);
const OTHER_ENV_PREFIXES = ['BATON_TEST_', 'BATON_BENCH_', 'BATON_FUZZ_'];

/**
 * A BATON_* variable no command reads is a typo or a guess, and was ignored without a word: `BATON_REDIS=redis://…`
 * (the variable is BATON_REDIS_URL) left a hub meant for a cluster alone with its own table. One close to a variable
 * of this command stops start-up naming it; any other is said on stderr (it may be meant for a newer Baton).
 */
export function checkUnknownEnv(cmd: Command, env: NodeJS.ProcessEnv = process.env): void {
  const commands = cmd.parent ? cmd.parent.commands : [cmd];
  const known = new Set(commands.flatMap((c) => c.options.map((o) => o.envVar)).filter((v): v is string => v !== undefined));
  const mine = cmd.options.map((o) => o.envVar).filter((v): v is string => v !== undefined);
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('BATON_') || known.has(name) || OTHER_ENV.has(name) || OTHER_ENV_PREFIXES.some((p) => name.startsWith(p)))
      continue;
    const near = nearest(name, mine);
    if (near)
      cmd.error(
        `error: ${name} is not a setting of \`baton ${cmd.name()}\`: did you mean ${near}? (\`--help\` shows each option's variable)`,
      );
    console.error(`baton ${cmd.name()}: ${name} is not a setting of any Baton command; ignored (\`--help\` shows each option's variable)`);
  }
}

/** The candidate `name` most likely stands for: one word more or fewer (BATON_REDIS, BATON_REDIS_URL), or 2 edits away. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const a = name.toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const b = c.toLowerCase();
    const d = b.startsWith(`${a}_`) || a.startsWith(`${b}_`) ? 1 : editDistance(a, b);
    if (d <= 2 && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Run before every command's action: unknown variables, environment booleans and empties, the config file, secrets from files, required options. */
export function applySettings(cmd: Command): void {
  checkUnknownEnv(cmd);
  applyBooleanEnv(cmd);
  applyEmptyEnv(cmd);
  applyConfigFile(cmd);
  resolveSecrets(cmd);
  // After the empties were dropped: commander's own check saw `--out ""` as given (and the action then failed on '').
  const config = cmd.options.some((o) => o.attributeName() === 'config');
  for (const o of cmd.options) {
    const value: unknown = cmd.getOptionValue(o.attributeName());
    const alt = STANDS_IN[o.flags];
    const altHere = alt !== undefined && cmd.options.some((x) => x.attributeName() === alt.key);
    const altValue: unknown = altHere ? cmd.getOptionValue(alt.key) : undefined;
    if (altValue !== undefined && altValue !== '' && value !== undefined && value !== '')
      cmd.error(`error: give ${o.flags.split(' ')[0]} or ${alt!.flags.split(' ')[0]}, not both`);
    if ((o.mandatory || REQUIRED.has(o.flags)) && (value === undefined || value === '') && (altValue === undefined || altValue === '')) {
      const where = [o.envVar && `in ${o.envVar}`, config && 'in --config'].filter(Boolean);
      const or = altHere ? ` (or '${alt!.flags}')` : '';
      cmd.error(`error: required option '${o.flags}'${or} not specified${where.length ? ` (as a flag, ${where.join(' or ')})` : ''}`);
    }
  }
}
