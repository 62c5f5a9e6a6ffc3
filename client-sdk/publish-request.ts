// The publisher's `publish` to the hub: the request from its options and what it already holds, the reply parsed.
import type { PublishReply, PublishRequest } from '../signaling/protocol/messages.js';
import { ask, publishReplySchema, type AckEmitter, type PublishAck } from './hub-replies.js';
import { PUBLISH_ACK_TIMEOUT_MS, type PublisherOptions } from './publisher-types.js';

/** What a publisher holds once the hub named its stream: the id, and the secret that proves it owns it. */
export interface HeldStream {
  streamId: string | undefined;
  streamSecret: string | undefined;
}

/** The request: a later one names the stream it holds and passes over the servers in `exclude` (the latest 16). */
export function publishRequest(o: PublisherOptions, held: HeldStream, exclude: readonly string[]): PublishRequest {
  const req: PublishRequest = { streamKey: o.streamKey, location: o.location };
  if (held.streamId) req.streamId = held.streamId;
  if (held.streamSecret) req.streamSecret = held.streamSecret;
  if (o.title) req.title = o.title;
  if (o.description) req.description = o.description;
  if (exclude.length) req.exclude = exclude.slice(-16);
  return req;
}

/** Asks once (PUBLISH_ACK_TIMEOUT_MS); the reply is parsed by its schema. */
export function askPublish(o: PublisherOptions, held: HeldStream, exclude: readonly string[]): Promise<PublishAck> {
  return ask(o.socket as AckEmitter, 'publish', publishRequest(o, held, exclude), publishReplySchema, PUBLISH_ACK_TIMEOUT_MS);
}

/** The assignment without the ack's `ok`. */
export function stripOk(r: { ok: true } & PublishReply): PublishReply {
  const { ok: _ok, ...rest } = r;
  return rest;
}
