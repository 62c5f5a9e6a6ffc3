// Which other hub a server beats through (`HubMesh`), asked of Redis and believed for a while: one lookup serves a burst of messages.
/** How long the hub a server beats through is believed before it is asked again. */
const LOCATION_TTL_MS = 2_000;
const LOCATIONS_MAX = 100_000;

/** The answers by server id, the oldest forgotten first past LOCATIONS_MAX. */
export class ServerLocations {
  readonly #locate: (serverIds: readonly string[]) => Promise<(string | null)[]>;
  readonly #hubId: string;
  readonly #now: () => number;
  readonly #byServer = new Map<string, { hub: Promise<string | null>; atMs: number }>();

  /** `locate`: the hub each server beats through (`hb:<id>`), null when it beats nowhere; `hubId`: this hub. */
  constructor(locate: (serverIds: readonly string[]) => Promise<(string | null)[]>, hubId: string, now: () => number) {
    this.#locate = locate;
    this.#hubId = hubId;
    this.#now = now;
  }

  /** The hub `serverId` beats through, when it is another live hub (cached for LOCATION_TTL_MS unless `fresh`). */
  of(serverId: string, fresh = false): Promise<string | null> {
    const now = this.#now();
    const hit = this.#byServer.get(serverId);
    if (hit && !fresh && now - hit.atMs < LOCATION_TTL_MS) return hit.hub;
    const hub = this.#locate([serverId]).then(
      ([h]) => (h && h !== this.#hubId ? h : null),
      () => null,
    );
    this.#byServer.delete(serverId);
    if (this.#byServer.size >= LOCATIONS_MAX) this.#byServer.delete(this.#byServer.keys().next().value!);
    this.#byServer.set(serverId, { hub, atMs: now });
    return hub;
  }

  /** Asked again next time: the server moved, or the hub asked did not hold it. */
  forget(serverId: string): void {
    this.#byServer.delete(serverId);
  }
}
