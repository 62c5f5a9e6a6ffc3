// Checks metric names in Prometheus text against Prometheus's naming practice:
// one application prefix, no doubled word, base units as the last word, `_total`
// on counters and only on counters.

/** Units that are not base units (Prometheus wants seconds and bytes). */
const NON_BASE_UNITS = new Set([
  'ms',
  'millis',
  'milliseconds',
  'microseconds',
  'us',
  'minutes',
  'hours',
  'kb',
  'kib',
  'mb',
  'mib',
  'gb',
  'gib',
  'bits',
  'percent',
]);
const BASE_UNITS = new Set(['seconds', 'bytes']);

/** Every problem found, one line each (empty when every name is fine). */
export function namingProblems(text: string, prefix: string): string[] {
  const problems: string[] = [];
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1]!, type: m[2]! }));
  if (types.length === 0) problems.push('no metrics');
  for (const { name, type } of types) {
    const say = (what: string) => problems.push(`${name} (${type}): ${what}`);
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) say('not snake_case');
    if (!name.startsWith(prefix)) say(`does not start with ${prefix}`);
    const words = name.slice(prefix.length).split('_');
    if (words.includes('baton')) say('repeats the prefix');
    const all = name.split('_');
    for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) say(`doubled word "${all[i]}"`);
    const total = name.endsWith('_total');
    if (type === 'counter' && !total) say('a counter must end in _total');
    if (type !== 'counter' && total) say('only counters end in _total');
    const base = total ? all.slice(0, -1) : all;
    for (const w of all) if (NON_BASE_UNITS.has(w)) say(`unit "${w}" is not a base unit`);
    const units = base.filter((w) => BASE_UNITS.has(w));
    if (units.length > 1) say(`more than one unit (${units.join(', ')})`);
    if (units.length === 1 && base.at(-1) !== units[0]) say(`unit "${units[0]}" must be the last word${total ? ' before _total' : ''}`);
  }
  return problems;
}
