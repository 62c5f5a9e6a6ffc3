#!/usr/bin/python3
"""A WHEP player on GStreamer's webrtcbin: receives VP8 or H.264 (+ Opus) and writes WebM or Matroska.

Debian 12's GStreamer has no whepsrc, so this drives webrtcbin itself: add
recvonly transceivers, POST the offer, set the answer, depayload what arrives
into webmmux (matroskamux for H.264) → --out, then DELETE the resource after --seconds.

    /usr/bin/python3 scripts/whep-play.py \
        --url http://127.0.0.1:8080/whep/my-show --out played.webm --seconds 5

--codec h264 offers H.264 (packetization-mode 1) instead of VP8 and writes Matroska.

Packages: as scripts/whip-publish.py. Exit status: 0 when media was written
and the resource deleted; 2 when the endpoint refused the offer (status and
reason on stderr); 1 on any other failure. The response's X-Baton-Server and
X-Baton-Reason go to stderr.
"""
import argparse
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

OFFER_ATTEMPTS = 5
CAPS = {
    'VP8': 'application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000',
    'H264': ('application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,'
             'packetization-mode=(string)1,profile-level-id=(string)42e01f,level-asymmetry-allowed=(string)1'),
    'OPUS': 'application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000',
}
DEPAY = {
    'VP8': 'rtpvp8depay name=depay',
    'H264': 'rtph264depay name=depay ! h264parse',
    'OPUS': 'rtpopusdepay name=depay ! opusparse',
}
MUX = {'VP8': 'webmmux', 'H264': 'matroskamux'}


def log(msg):
    print(f'whep-play: {msg}', file=sys.stderr, flush=True)


def http(method, url, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header('Content-Type', 'application/sdp')
    return urllib.request.urlopen(req, timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--url', required=True, help='WHEP endpoint, e.g. http://hub/whep/<asset id>')
    ap.add_argument('--out', required=True, help="WebM (Matroska for H.264) file to write")
    ap.add_argument('--seconds', type=float, default=5, help='how long to play (default 5)')
    ap.add_argument('--no-audio', action='store_true', help='ask for video only')
    ap.add_argument('--codec', choices=['vp8', 'h264'], default='vp8', help='video codec to offer (default vp8)')
    ap.add_argument('--ice-address', action='append', default=[],
                    help='gather ICE candidates on this local address only (repeatable; e.g. 127.0.0.1)')
    args = ap.parse_args()

    Gst.init(None)
    pipe = Gst.Pipeline.new('play')
    webrtc = Gst.ElementFactory.make('webrtcbin', 'recv')
    webrtc.set_property('bundle-policy', GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
    video = args.codec.upper()
    mux = Gst.ElementFactory.make(MUX[video], 'mux')
    sink = Gst.ElementFactory.make('filesink', 'sink')
    sink.set_property('location', args.out)
    for e in (webrtc, mux, sink):
        pipe.add(e)
    mux.link(sink)
    if args.ice_address:
        ice = webrtc.get_property('ice-agent')
        ice.set_property('ice-tcp', False)
        for addr in args.ice_address:
            ice.emit('add-local-ip-address', addr)
    for name in (video,) if args.no_audio else (video, 'OPUS'):
        webrtc.emit('add-transceiver', GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY, Gst.Caps.from_string(CAPS[name]))

    loop = GLib.MainLoop()
    state = {'location': None, 'status': 1, 'attempt': 0, 'pads': 0, 'frames': {}}

    def finish(status):
        state['status'] = status
        loop.quit()
        return False

    # The depayloaders are linked to the muxer before anything plays: it takes no pad once it started writing.
    bins = {}
    for name in (video,) if args.no_audio else (video, 'OPUS'):
        b = Gst.parse_bin_from_description(DEPAY[name], True)
        pipe.add(b)
        b.link(mux)
        bins[name] = b
        state['frames'][name] = 0

        def count(_pad, _info, name=name):
            state['frames'][name] += 1
            return Gst.PadProbeReturn.OK
        b.get_by_name('depay').get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, count)

    def on_pad(_element, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        name = pad.get_current_caps().get_structure(0).get_string('encoding-name')
        if name not in bins or bins[name].get_static_pad('sink').is_linked():
            sink = Gst.ElementFactory.make('fakesink')
            pipe.add(sink)
            sink.sync_state_with_parent()
            pad.link(sink.get_static_pad('sink'))
            return
        pad.link(bins[name].get_static_pad('sink'))
        state['pads'] += 1
        log(f'receiving {name}')

    def stop():
        log('frames received: ' + ', '.join(f'{k} {v}' for k, v in sorted(state['frames'].items())))
        if state['location']:
            try:
                with http('DELETE', state['location']) as r:
                    log(f'DELETE {r.status}')
            except (urllib.error.HTTPError, OSError) as e:
                log(f'DELETE failed: {e}')
                state['location'] = None
        # EOS into each depayloader (it does not cross webrtcbin) makes the muxer finish the file. Each is
        # sent from its own thread: the muxer may hold one track's streaming thread until the other
        # track's EOS arrives, and a main loop blocked in send_event would never reach the other one.
        for b in bins.values():
            pad = b.get_static_pad('sink')
            threading.Thread(target=pad.send_event, args=(Gst.Event.new_eos(),), daemon=True).start()
        GLib.timeout_add(5_000, lambda: finish(1))
        return False

    def post_offer():
        offer = webrtc.get_property('local-description')
        if offer is None:
            return retry_offer()
        try:
            t0 = time.monotonic()
            with http('POST', args.url, offer.sdp.as_text().encode()) as r:
                answer = r.read().decode()
                state['location'] = urllib.parse.urljoin(args.url, r.headers['Location'])
                log(f'POST {r.status} in {(time.monotonic() - t0) * 1000:.0f} ms, server {r.headers["X-Baton-Server"]} ({r.headers["X-Baton-Reason"]}), resource {state["location"]}')
        except urllib.error.HTTPError as e:
            log(f'POST refused: {e.code} {e.read().decode(errors="replace").strip()}')
            return finish(2)
        except OSError as e:
            log(f'POST failed: {e}')
            return finish(1)
        ok, msg = GstSdp.SDPMessage.new_from_text(answer)
        webrtc.emit('set-remote-description', GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg), Gst.Promise.new())
        GLib.timeout_add(int(args.seconds * 1000), stop)
        return False

    def retry_offer():
        state['attempt'] += 1
        if state['attempt'] > OFFER_ATTEMPTS:
            log('webrtcbin produced no offer')
            return finish(1)
        webrtc.emit('create-offer', None, Gst.Promise.new_with_change_func(on_offer, None))
        return False

    def on_offer(promise, _):
        reply = promise.get_reply()
        offer = reply.get_value('offer') if reply else None
        if offer is None:
            GLib.timeout_add(200, retry_offer)
            return
        webrtc.emit('set-local-description', offer, Gst.Promise.new())

    def on_gathering(element, _pspec):
        if element.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not state['location']:
            GLib.idle_add(post_offer)

    def on_message(_bus, message):
        if message.type == Gst.MessageType.ERROR:
            err, dbg = message.parse_error()
            log(f'pipeline error: {err.message} ({dbg})')
            finish(1)

    def on_sink_event(_pad, info):
        # The pipeline never posts EOS (webrtcbin's own sinks keep running): the file's EOS is the end.
        if info.get_event().type == Gst.EventType.EOS:
            GLib.timeout_add(200, lambda: finish(0 if state['pads'] > 0 and state['location'] else 1))
        return Gst.PadProbeReturn.OK
    sink.get_static_pad('sink').add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, on_sink_event)

    webrtc.connect('pad-added', on_pad)
    webrtc.connect('on-negotiation-needed', lambda _e: state['attempt'] == 0 and retry_offer())
    webrtc.connect('notify::ice-gathering-state', on_gathering)
    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_message)
    pipe.set_state(Gst.State.PLAYING)
    GLib.timeout_add(15_000, lambda: finish(1) if not state['location'] else False)
    loop.run()
    # webrtcbin's teardown can hang under load (seen with a live stream still arriving): the file is
    # complete by now, so give it a few seconds and leave regardless.
    teardown = threading.Thread(target=pipe.set_state, args=(Gst.State.NULL,), daemon=True)
    teardown.start()
    teardown.join(5)
    if teardown.is_alive():
        log('pipeline teardown did not finish in 5 s; exiting anyway')
        sys.stderr.flush()
        os._exit(state['status'])
    return state['status']


if __name__ == '__main__':
    code = main()
    # Exit without the interpreter's teardown: pygobject's wrapper of webrtcbin's ICE agent (taken for
    # --ice-address) is unreferenced once more after the pipeline freed it, a GStreamer-CRITICAL line on every run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
