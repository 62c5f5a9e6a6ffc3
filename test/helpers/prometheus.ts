// Prometheus text exposition read back in tests: strict enough to catch broken output (prom-client writes it, nothing in node_modules reads it).

/**
 * The samples of a /metrics body by series (`name{labels}` as written); throws on a line that is not a
 * sample, `# HELP`, `# TYPE` or blank. NaN in any case: prom-client writes `Nan` for an event-loop-lag window
 * with no samples yet (two scrapes close together), and Prometheus parses it case-insensitively.
 */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:[0-9.e+-]+|[Nn][Aa][Nn]|\+Inf|-Inf))( -?[0-9]+)?$/;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = line.match(sample);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return samples;
}

/** The sum of metric `name` over all its series (every label set). */
export function sumSeries(samples: Map<string, number>, name: string): number {
  return [...samples].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((a, [, v]) => a + v, 0);
}

/** A /metrics body fetched and parsed. */
export async function scrape(url: string): Promise<Map<string, number>> {
  return parsePrometheus(await (await fetch(url)).text());
}
