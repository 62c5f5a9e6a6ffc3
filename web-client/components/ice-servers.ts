// The operator's ICE servers read by hand from the raw /api/config: the page's first module makes its offer with them
// without loading zod (hub-socket.ts parses the whole config by its schema later, for everything else).

/** Bounds of `clientConfigSchema.iceServers` (client-sdk/hub-replies.ts), which this check mirrors. */
const MAX_ICE_SERVERS = 10;
const MAX_URLS = 10;
const MAX_URL_CHARS = 300;
const MAX_CREDENTIAL_CHARS = 200;

const isText = (x: unknown, max: number): x is string => typeof x === 'string' && x.length <= max;

function isIceServer(x: unknown): x is RTCIceServer {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return false;
  const o = x as Record<string, unknown>;
  const urlsOk =
    isText(o.urls, MAX_URL_CHARS) || (Array.isArray(o.urls) && o.urls.length <= MAX_URLS && o.urls.every((u) => isText(u, MAX_URL_CHARS)));
  return (
    urlsOk &&
    (o.username === undefined || isText(o.username, MAX_CREDENTIAL_CHARS)) &&
    (o.credential === undefined || isText(o.credential, MAX_CREDENTIAL_CHARS))
  );
}

/**
 * `config.iceServers` when it has the shape the config schema allows (only `urls`, `username` and `credential`
 * kept), else none: a config that is not one is read as no ICE servers, as a failed fetch is.
 */
export function readIceServers(config: unknown): RTCIceServer[] {
  if (!config || typeof config !== 'object') return [];
  const list = (config as { iceServers?: unknown }).iceServers;
  if (!Array.isArray(list) || list.length > MAX_ICE_SERVERS || !list.every(isIceServer)) return [];
  return list.map((s) => ({
    urls: s.urls,
    ...(s.username === undefined ? {} : { username: s.username }),
    ...(s.credential === undefined ? {} : { credential: s.credential }),
  }));
}
