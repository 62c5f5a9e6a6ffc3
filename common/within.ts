// Waiting for something at most so long: a stop that must not hang on a peer that is away.

/**
 * `p`, or undefined once `ms` have passed (or when `p` rejects): for what a stop or a bounded wait must
 * not be held by — a Redis with an offline queue or no command timeout, a disk that does not answer.
 */
export async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
