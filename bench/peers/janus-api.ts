// A minimal client of Janus's JSON API over its plain-HTTP transport, for the Node viewers: create a
// session, attach the streaming plugin, `watch` (Janus offers), `start` with our answer, long-poll events.

/** Janus said no, or did not answer as its API says. */
export class JanusApiError extends Error {
  readonly code = 'JANUS_API';
  constructor(message: string) {
    super(message);
    this.name = 'JanusApiError';
  }
}

interface JanusReply {
  janus: string;
  data?: { id: number };
  plugindata?: { data: Record<string, unknown> };
  jsep?: { type: string; sdp: string };
  error?: { code: number; reason: string };
}

let tx = 0;
const transaction = () => `bench-${process.pid}-${++tx}`;

async function post(url: string, body: Record<string, unknown>): Promise<JanusReply> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ ...body, transaction: transaction() }) });
  const reply = (await res.json()) as JanusReply;
  if (reply.janus === 'error') throw new JanusApiError(`${body.janus}: ${reply.error?.code} ${reply.error?.reason}`);
  return reply;
}

export interface JanusWatch {
  /** Janus's offer (SDP). */
  offer: string;
  /** Sends our answer and `start`s the stream. */
  start(answer: string): Promise<void>;
  /** Ends the session (Janus frees the handle and the PeerConnection). */
  destroy(): Promise<void>;
}

/** Creates a session, attaches the streaming plugin, watches `mountpointId`, and returns Janus's offer. */
export async function janusWatch(apiUrl: string, mountpointId: number): Promise<JanusWatch> {
  const session = (await post(apiUrl, { janus: 'create' })).data!.id;
  const sessionUrl = `${apiUrl}/${session}`;
  const handle = (await post(sessionUrl, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data!.id;
  const handleUrl = `${sessionUrl}/${handle}`;
  let closed = false;
  // The long poll is also the session's keepalive: Janus drops sessions that stay silent for 60 s.
  const events: JanusReply[] = [];
  const waiters: Array<() => void> = [];
  const poll = async () => {
    while (!closed) {
      try {
        const res = await fetch(`${sessionUrl}?maxev=10&rid=${Date.now()}`);
        const got = (await res.json()) as JanusReply | JanusReply[];
        for (const e of Array.isArray(got) ? got : [got]) if (e.janus !== 'keepalive') events.push(e);
        for (const w of waiters.splice(0)) w();
      } catch {
        if (!closed) await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  void poll();
  const nextJsep = async (timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = events.findIndex((e) => e.jsep);
      if (i >= 0) return events.splice(i, 1)[0]!.jsep!.sdp;
      const err = events.find((e) => e.plugindata?.data.error);
      if (err) throw new JanusApiError(String(err.plugindata!.data.error));
      if (Date.now() > deadline) throw new JanusApiError('no offer from the streaming plugin');
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  await post(handleUrl, { janus: 'message', body: { request: 'watch', id: mountpointId } });
  const offer = await nextJsep(10_000);
  return {
    offer,
    start: async (answer) => {
      await post(handleUrl, { janus: 'message', body: { request: 'start' }, jsep: { type: 'answer', sdp: answer } });
    },
    destroy: async () => {
      closed = true;
      await post(sessionUrl, { janus: 'destroy' }).catch(() => undefined);
    },
  };
}
