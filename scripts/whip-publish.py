#!/usr/bin/python3
"""A WHIP publisher (RFC 9725) on GStreamer's webrtcbin: test pattern + tone, VP8 or H.264 + Opus.

Debian 12's GStreamer has no whipsink, so this drives webrtcbin itself: POST the
offer, set the answer, send for --seconds (or until SIGINT: Ctrl-C, or a test
that has seen what it needed), then DELETE the resource.

    /usr/bin/python3 scripts/whip-publish.py \
        --url 'http://127.0.0.1:8080/whip/my-stream?location=Paris' \
        --token STREAM_KEY --seconds 10 [--codec h264]

--codec h264 sends what OBS's WHIP output sends: H.264 (openh264enc, constrained
baseline, no B-frames; SPS/PPS before every IDR) in packetization-mode 1.

Packages: python3-gi python3-gst-1.0 gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad. Exit status: 0 when the
broadcast was ended with a successful DELETE; 2 when the endpoint refused the
offer (its status and reason go to stderr); 1 on any other failure.
"""
import argparse
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstSdp', '1.0')
gi.require_version('GstWebRTC', '1.0')
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

VIDEO = {
    'vp8': '''vp8enc deadline=1 keyframe-max-dist={gop} target-bitrate={bitrate}
  ! rtpvp8pay pt=96 ! application/x-rtp,media=video,encoding-name=VP8,payload=96''',
    # aggregate-mode=zero-latency puts SPS and PPS in one STAP-A; big slices go out as FU-A.
    'h264': '''openh264enc gop-size={gop} bitrate={bitrate} complexity=low ! video/x-h264,profile=constrained-baseline
  ! h264parse ! rtph264pay pt=102 config-interval=-1 aggregate-mode=zero-latency
  ! application/x-rtp,media=video,encoding-name=H264,payload=102''',
}

PIPELINE = '''
webrtcbin name=send bundle-policy=max-bundle
videotestsrc is-live=true pattern={pattern} ! video/x-raw,width={width},height={height},framerate={fps}/1
  ! videoconvert ! {video} ! send.
audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc
  ! rtpopuspay pt=97 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=97 ! send.
'''

# webrtcbin sometimes leaves no local description after the first create-offer:
# retry this often, waiting for ICE gathering each time.
OFFER_ATTEMPTS = 5


def log(msg):
    print(f'whip-publish: {msg}', file=sys.stderr, flush=True)


def http(method, url, token, body=None):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header('Authorization', f'Bearer {token}')
    if body is not None:
        req.add_header('Content-Type', 'application/sdp')
    return urllib.request.urlopen(req, timeout=30)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--url', required=True, help='WHIP endpoint, e.g. http://hub/whip/<id>?location=Paris')
    ap.add_argument('--token', required=True, help='stream key (sent as a Bearer token)')
    ap.add_argument('--seconds', type=float, default=10, help='how long to broadcast (default 10)')
    ap.add_argument('--width', type=int, default=320)
    ap.add_argument('--height', type=int, default=240)
    ap.add_argument('--fps', type=int, default=30)
    ap.add_argument('--gop', type=int, default=60, help='frames between keyframes')
    ap.add_argument('--bitrate', type=int, default=500_000, help='video bits per second')
    ap.add_argument('--pattern', default='smpte')
    ap.add_argument('--codec', choices=sorted(VIDEO), default='vp8', help='video codec (default vp8)')
    ap.add_argument('--ice-address', action='append', default=[],
                    help='gather ICE candidates on this local address only (repeatable; e.g. 127.0.0.1)')
    args = ap.parse_args()

    Gst.init(None)
    video = VIDEO[args.codec].format(**vars(args))
    pipe = Gst.parse_launch(PIPELINE.format(video=video, **vars(args)))
    webrtc = pipe.get_by_name('send')
    if args.ice_address:
        # libnice leaves loopback out unless told which addresses to use.
        ice = webrtc.get_property('ice-agent')
        ice.set_property('ice-tcp', False)
        for addr in args.ice_address:
            ice.emit('add-local-ip-address', addr)
    loop = GLib.MainLoop()
    state = {'location': None, 'status': 1, 'attempt': 0}

    def finish(status):
        state['status'] = status
        loop.quit()
        return False

    def end_broadcast():
        if state['location']:
            try:
                t0 = time.monotonic()
                with http('DELETE', state['location'], args.token) as r:
                    log(f'DELETE {r.status} in {(time.monotonic() - t0) * 1000:.0f} ms: {r.read().decode(errors="replace").strip()}')
                    return finish(0)
            except urllib.error.HTTPError as e:
                log(f'DELETE refused: {e.code} {e.read().decode(errors="replace").strip()}')
            except OSError as e:
                log(f'DELETE failed: {e}')
        return finish(1)

    def post_offer():
        offer = webrtc.get_property('local-description')
        if offer is None:
            return retry_offer()
        sdp = offer.sdp.as_text()
        try:
            t0 = time.monotonic()
            with http('POST', args.url, args.token, sdp.encode()) as r:
                answer = r.read().decode()
                state['location'] = urllib.parse.urljoin(args.url, r.headers['Location'])
                log(f'POST {r.status} in {(time.monotonic() - t0) * 1000:.0f} ms, resource {state["location"]}')
        except urllib.error.HTTPError as e:
            log(f'POST refused: {e.code} {e.read().decode(errors="replace").strip()}')
            return finish(2)
        except OSError as e:
            log(f'POST failed: {e}')
            return finish(1)
        ok, msg = GstSdp.SDPMessage.new_from_text(answer)
        desc = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        webrtc.emit('set-remote-description', desc, Gst.Promise.new())
        GLib.timeout_add(int(args.seconds * 1000), end_broadcast)
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
        # Non-trickle WHIP: the offer goes out with every candidate in it.
        if element.get_property('ice-gathering-state') == GstWebRTC.WebRTCICEGatheringState.COMPLETE and not state['location']:
            GLib.idle_add(post_offer)

    def on_negotiation_needed(_element):
        if state['attempt'] == 0:
            retry_offer()

    webrtc.connect('on-negotiation-needed', on_negotiation_needed)
    webrtc.connect('notify::ice-gathering-state', on_gathering)

    def on_message(_bus, message):
        if message.type == Gst.MessageType.ERROR:
            err, dbg = message.parse_error()
            log(f'pipeline error: {err.message} ({dbg})')
            finish(1)

    bus = pipe.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_message)
    pipe.set_state(Gst.State.PLAYING)
    # Give up if nothing was posted in time (no offer, or ICE gathering stuck).
    GLib.timeout_add(15_000, lambda: finish(1) if not state['location'] else False)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, end_broadcast)
    loop.run()
    pipe.set_state(Gst.State.NULL)
    return state['status']


if __name__ == '__main__':
    code = main()
    # Exit without the interpreter's teardown: pygobject's wrapper of webrtcbin's ICE agent (taken for
    # --ice-address) is unreferenced once more after the pipeline freed it, a GStreamer-CRITICAL line on every run.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
