// Which streams the player remuxes: its own module, so the page's first module (early-playback.ts) can ask without the sink.

/** The MSE type H.264 in Matroska is played as after the remux (`video/mp4` with the same codecs); null for any other type. */
export function mp4TypeOf(mime: string): string | null {
  const codecs = /codecs\s*=\s*"?([^";]+)"?/i.exec(mime)?.[1];
  return /^video\/(x-matroska|webm)/i.test(mime) && codecs && /avc1/.test(codecs) ? `video/mp4; codecs="${codecs}"` : null;
}
