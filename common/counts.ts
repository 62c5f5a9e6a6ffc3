// Counts by key (open things per client address) that hold only the keys with something open.

/** One less for `key`; a key at 0 leaves the map, so its size is the keys with something open. */
export function decrementCount(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 1) - 1;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
