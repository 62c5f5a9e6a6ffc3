// The rows of the README's figure tables, as templates over bench/results (syntax in report-format.ts).
// To show a new figure in the README, add a row here; `npm run bench:report` renders it.

export interface PerformanceRow {
  /** What is measured; may name figures (e.g. the scale a simulation ran at). */
  figure: string;
  /** The measured value(s); `[[…{full:key}…]]` adds the full-scale run where one was made. */
  value: string;
  /** Figures with a target in targets.ts: the target column, and the value in bold when one is missed. */
  targets: string[];
  /** The baseline from the same run, or what else to read the value against. */
  against: string;
}

export const PERFORMANCE_ROWS: PerformanceRow[] = [
  {
    figure: 'director decision, 1,000 servers × 100,000 assets',
    value: '{director.decision_us_p50} µs p50',
    targets: ['director.decision_us_p50'],
    against: '—',
  },
  {
    figure: '`watch` round trip through hub and director',
    value: '{director.watch_rtt_ms_p50} ms p50, {director.watch_rtt_ms_p99} ms p99',
    targets: ['director.watch_rtt_ms_p50', 'director.watch_rtt_ms_p99'],
    against: '{director.watch_rtt_ratio_vs_catalog_p50}× a `catalog` request the hub answers alone ({director.catalog_rtt_ms_p50} ms p50)',
  },
  {
    figure: 'a delta reaching 100 replicas (hub and replicas in one process)',
    value: '{replication.p99_ms_100_replicas_one_process} ms p99',
    targets: ['replication.p99_ms_100_replicas_one_process'],
    against: '—',
  },
  {
    figure: 'delta ÷ snapshot bytes (100 servers × 10,000 assets)',
    value: '{replication.delta_to_snapshot_bytes_ratio}',
    targets: ['replication.delta_to_snapshot_bytes_ratio'],
    against:
      'a delta as a replica received it ({replication.delta_bytes:int} B) ÷ the full snapshot ({replication.snapshot_bytes_100x10000:int} B)',
  },
  {
    figure: 'storage read, cache (`gic`, the default) ÷ LRU (cache = 5 % of catalog; simulated {cache.sim_block_kib:int} KiB blocks)',
    value: '{cache.storage_read_ratio_vs_lru.zipf07} (Zipf 0.7), {cache.storage_read_ratio_vs_lru.zipf10} (Zipf 1.0)',
    targets: ['cache.storage_read_ratio_vs_lru.zipf07', 'cache.storage_read_ratio_vs_lru.zipf10'],
    against: 'LRU, same trace and memory',
  },
  {
    figure: 'storage read, cache (`gic`) ÷ no cache (Zipf 1.0, 5 % of catalog; simulated {cache.sim_block_kib:int} KiB blocks)',
    value: '{cache.storage_read_ratio_vs_nocache.zipf10}',
    targets: ['cache.storage_read_ratio_vs_nocache.zipf10'],
    against:
      'no cache; `interval` {cache.interval_storage_read_ratio_vs_nocache.zipf10}; offline bound for any cache of this size[[ {cache.offline_bound_ratio_vs_nocache.zipf10.pct5}]]; `gic` with 10 % of the catalog {cache.storage_read_ratio_vs_nocache.zipf10.pct10}, with 20 % {cache.storage_read_ratio_vs_nocache.zipf10.pct20}',
  },
  {
    figure: 'one WebRTC session (unpaced ServeSession) ÷ the raw data channel',
    value: '{delivery.session_ratio_vs_raw_channel}',
    targets: ['delivery.session_ratio_vs_raw_channel'],
    against:
      'raw simple-peer + node-datachannel in the same run ({delivery.raw_channel_mbps:int} Mbit/s); one server to 8 viewer processes: {delivery.egress_mbps_8_viewers:int} Mbit/s in all',
  },
  {
    figure:
      'load balance, peak ÷ mean load (simulator: {lb.sim_servers:int} servers, {lb.sim_requests:int} requests, {lb.sim_block_mib:int} MiB blocks, every cache gic, the default)',
    value:
      '{lb.max_mean_load.baton.gic}[[; full run ({full:lb.sim_servers:int} servers, {full:lb.sim_requests:int} requests): {full:lb.max_mean_load.baton.gic}]][[; 1,000,000 requests: {lb.max_mean_load_1m.baton.gic}]]',
    targets: ['lb.max_mean_load.baton.gic'],
    against:
      'bounded-load hashing {lb.max_mean_load.bounded-load.gic}, Baton without its load bound {lb.max_mean_load.baton-unbounded.gic}[[ (full run: {full:lb.max_mean_load.bounded-load.gic}, {full:lb.max_mean_load.baton-unbounded.gic})]]',
  },
  {
    figure: 'share of viewer bytes served from caches (simulator, as above)',
    value:
      '{lb.cache_served_share.baton.gic}[[; full run: {full:lb.cache_served_share.baton.gic}]][[; 1,000,000 requests: {lb.cache_served_share_1m.baton.gic}]]',
    targets: ['lb.cache_served_share.baton.gic'],
    against:
      'bounded-load hashing {lb.cache_served_share.bounded-load.gic}, least-loaded {lb.cache_served_share.least-loaded.gic}[[ (full run: {full:lb.cache_served_share.bounded-load.gic}, {full:lb.cache_served_share.least-loaded.gic})]][[; with interval caches: Baton {lb.cache_served_share.baton.interval}, bounded-load {lb.cache_served_share.bounded-load.interval}]]',
  },
  {
    figure:
      "utilisation sweep (simulator: {lb.sweep.servers:int} servers, gic caches): Baton's cache-served share minus bounded-load hashing's, at 10 / 30 / 50 / 70 / 90 % mean utilisation",
    value:
      '{lb.sweep.u10.cache_served_share.baton.gic} (ratio to unbounded cache-first {lb.sweep.u10.cache_share_ratio_vs_unbounded.baton.gic}) / {lb.sweep.u30.cache_share_margin_vs_bounded_load.baton.gic} / {lb.sweep.u50.cache_share_margin_vs_bounded_load.baton.gic} / {lb.sweep.u70.cache_share_margin_vs_bounded_load.baton.gic} / {lb.sweep.u90.cache_share_margin_vs_bounded_load.baton.gic}',
    targets: [
      'lb.sweep.u10.cache_share_ratio_vs_unbounded.baton.gic',
      'lb.sweep.u30.cache_share_margin_vs_bounded_load.baton.gic',
      'lb.sweep.u50.cache_share_margin_vs_bounded_load.baton.gic',
      'lb.sweep.u70.cache_share_margin_vs_bounded_load.baton.gic',
      'lb.sweep.u90.cache_share_margin_vs_bounded_load.baton.gic',
    ],
    against:
      'peak ÷ mean load {lb.sweep.u30.max_mean_load.baton.gic} / {lb.sweep.u50.max_mean_load.baton.gic} / {lb.sweep.u70.max_mean_load.baton.gic} / {lb.sweep.u90.max_mean_load.baton.gic} at 30–90 % (target ≤ 1.25)[[; at 90 %, against bounded loads held to Baton’s 0.85 admission threshold: {lb.sweep.u90.cache_share_margin_vs_bounded_load_capped.baton.gic}]]',
  },
  {
    figure: 'share of viewer bytes from caches, 3-server demo cluster, viewers seconds apart (simulator, gic caches)',
    value: '{lb.small.cache_served_share.baton.gic}',
    targets: ['lb.small.cache_served_share.baton.gic'],
    against: 'bounded-load hashing {lb.small.cache_served_share.bounded-load.gic}',
  },
  {
    figure: 'simulator, 1,000,000 requests with the real (gic) cache (`--only lb1m`)',
    value: '{lb.sim_wall_s_1m_requests.baton.gic} s[[ ({lb.sim_cpu_s_1m_requests.baton.gic} CPU s)]]',
    targets: ['lb.sim_wall_s_1m_requests.baton.gic'],
    against: '[[{full:lb.sim_cpu_s_per_1m_requests_null_cache} CPU s with a no-op cache]]',
  },
  {
    figure: 'hub joins/s with p99 ≤ 50 ms (quick ladder)',
    value: '{hub.joins_per_s:int} (p99 {hub.join_p99_ms} ms)[[; full ladder: {full:hub.joins_per_s:int} (p99 {full:hub.join_p99_ms} ms)]]',
    targets: ['hub.joins_per_s', 'hub.join_p99_ms'],
    against:
      '`catalog` (hub alone) at that rate: p99 {hub.catalog_p99_ms_at_join_rate} ms; CPU: hub {hub.hub_cpu_cores_at_join_rate} cores, 3 servers {hub.servers_cpu_cores_at_join_rate}; hub RSS {hub.rss_mb:int} MB (geoip-lite loaded)',
  },
  {
    figure: 'joins/s with p99 ≤ 50 ms on 1 / 2 / 3 hubs sharing one Redis (quick ladder ≤ 2,000/s)',
    value:
      "{hub.scale.joins_per_s.1_hubs:int} / {hub.scale.joins_per_s.2_hubs:int} / {hub.scale.joins_per_s.3_hubs:int} (p99 {hub.scale.join_p99_ms.1_hubs} / {hub.scale.join_p99_ms.2_hubs} / {hub.scale.join_p99_ms.3_hubs} ms); hub CPU per join {hub.scale.cpu_per_join_ratio}× the in-memory hub's",
    targets: [
      'hub.scale.join_p99_ms.1_hubs',
      'hub.scale.join_p99_ms.2_hubs',
      'hub.scale.join_p99_ms.3_hubs',
      'hub.scale.cpu_per_join_ratio',
    ],
    against:
      'in-memory hub, same run: {hub.scale.joins_per_s.memory:int} joins/s (p99 {hub.scale.join_p99_ms.memory} ms), {hub.scale.cpu_ms_per_join.memory} CPU ms per join vs {hub.scale.cpu_ms_per_join.1_hubs} / {hub.scale.cpu_ms_per_join.2_hubs} / {hub.scale.cpu_ms_per_join.3_hubs}; {hub.scale.redis_ops_per_join} Redis commands per join (3 hubs)',
  },
  {
    figure: 'a hub SIGKILLed under a viewer streaming through it (3 hubs)',
    value:
      'largest gap {hub.failover.viewer_stall_ms} ms, {hub.failover.bytes_lost:int} bytes lost; a new watch through the survivors {hub.failover.signalling_ms} ms after the kill',
    targets: [
      'hub.failover.stall_ratio_vs_normal_gap',
      'hub.failover.bytes_lost',
      'hub.failover.sha256_equal',
      'hub.failover.signalling_ms',
    ],
    against: 'largest gap between chunks before the kill, same stream: {hub.failover.normal_gap_ms_max} ms',
  },
  {
    figure: 'shared state table: apply one change, 10,000 ÷ 1,000 servers ({sim.table.assets:int} assets)',
    value: '{sim.table.apply_ratio_10000_vs_1000} (time), {sim.table.delta_bytes_ratio_10000_vs_1000} (bytes)',
    targets: ['sim.table.apply_ratio_10000_vs_1000', 'sim.table.delta_bytes_ratio_10000_vs_1000'],
    against:
      'decode + apply per change: {sim.table.apply_us_per_delta.1000} µs at 1,000 servers, {sim.table.apply_us_per_delta.10000} µs at 10,000; {sim.table.delta_bytes_mean.10000:int} B per change on the wire',
  },
  {
    figure: 'dual upload bytes ÷ stream bytes',
    value: '{ingest.upload_overhead_ratio:3}',
    targets: ['ingest.upload_overhead_ratio'],
    against: '—',
  },
  {
    figure:
      'live transport, Node publisher reads a chunk → Node viewer has it (no camera, encoder or browser; publisher at {live.publish_speed}× real time)',
    value: '{live.transport_ms_p50} ms p50, {live.transport_ms_p95} ms p95',
    targets: ['live.transport_ms_p50'],
    against: '—',
  },
  {
    figure: 'live viewer stall when its server is SIGKILLed (kill → first byte from another server)',
    value: '{ingest.failover_stall_ms} ms',
    targets: ['ingest.failover_stall_ms'],
    against: '—',
  },
  {
    figure: 'time to first frame in Chromium',
    value: '{ttff.p50_ms} ms p50',
    targets: ['ttff.p50_ms', 'ttff.ratio_vs_http'],
    against:
      '{ttff.ratio_vs_http}× plain HTTP into MSE from the same server ({ttff.http_p50_ms} ms); Baton, from navigation start: [[player defined {ttff.app_ready_p50_ms} ms, ]]hub WebSocket open {ttff.socket_open_p50_ms} ms, data channel open {ttff.channel_open_p50_ms} ms, first media bytes {ttff.first_data_p50_ms} ms',
  },
  {
    figure: 'time to first frame in Chromium from a click on the loaded catalog (no page load on either side)',
    value: '{ttff.click_p50_ms} ms p50',
    targets: [],
    against:
      '{ttff.click_ratio_vs_http}× a loaded page whose click fetches the same file into MSE ({ttff.click_http_p50_ms} ms); Baton, from the click: watch sent {ttff.click_watch_sent_p50_ms} ms, reply {ttff.click_selected_p50_ms} ms, ICE {ttff.click_ice_connected_p50_ms} ms, data channel open {ttff.click_channel_open_p50_ms} ms, first append {ttff.click_first_append_p50_ms} ms',
  }, // Issue 19: real peers, same machine, same run, same media (`npm run bench -- --peers`).
  {
    figure: 'peers: time to first frame in Chromium, the demo asset (Janus and HLS live; Baton and HTTP from storage)',
    value: 'Baton {peers.ttff_p50_ms.baton} ms p50',
    targets: ['peers.ttff_ratio_vs_janus.baton', 'peers.ttff_ratio_vs_http.baton'],
    against:
      'Baton ÷ Janus {peers.ttff_ratio_vs_janus.baton}, ÷ HTTP {peers.ttff_ratio_vs_http.baton}; Janus 1.1.2 streaming, videobufferkf on {peers.ttff_p50_ms.janus} ms; nginx-rtmp HLS + hls.js {peers.ttff_p50_ms.hls} ms; HTTP range + MSE {peers.ttff_p50_ms.http} ms',
  },
  {
    figure: 'peers: live glass to glass, a clock drawn into each source frame and read in the viewer (p50)',
    value: 'Baton {peers.glass_to_glass_ms_p50.baton} ms',
    targets: ['live.glass_to_glass_ms_p50', 'peers.glass_to_glass_ratio_vs_janus.baton', 'peers.glass_to_glass_ratio_vs_hls.baton'],
    against:
      "Baton ÷ Janus {peers.glass_to_glass_ratio_vs_janus.baton}, ÷ HLS {peers.glass_to_glass_ratio_vs_hls.baton}; Janus {peers.glass_to_glass_ms_p50.janus} ms[[; Baton to a WHEP viewer {peers.glass_to_glass_ms_p50.baton_whep} ms]][[; a WHIP publisher to a WHEP viewer {whip.glass_to_glass_ms_p50} ms]]; nginx-rtmp HLS (1-s segments) {peers.glass_to_glass_ms_p50.hls} ms[[; of which media waiting in the player's buffer: Baton {peers.glass_to_glass_buffered_ms_p50.baton} ms, hls.js {peers.glass_to_glass_buffered_ms_p50.hls} ms]]",
  },
  {
    figure:
      'peers: server CPU per viewer-second, headless viewers of a live stream, pooled over the steps of 10 and 40 (10 alone in brackets)',
    value: 'Baton {peers.server_cpu_ms_per_viewer_s.baton} ms ({peers.server_cpu_ms_per_viewer_s.baton.v10})',
    targets: ['peers.server_cpu_ratio_vs_janus.baton', 'peers.server_cpu_ratio_vs_hls.baton'],
    against:
      'Baton ÷ Janus {peers.server_cpu_ratio_vs_janus.baton}, ÷ nginx {peers.server_cpu_ratio_vs_hls.baton}; Janus {peers.server_cpu_ms_per_viewer_s.janus} ms ({peers.server_cpu_ms_per_viewer_s.janus.v10}); nginx HLS {peers.server_cpu_ms_per_viewer_s.hls} ms ({peers.server_cpu_ms_per_viewer_s.hls.v10}); RSS per viewer (pooled like CPU; in brackets the idle RSS swing): Baton {peers.rss_mb_per_viewer.baton} MB ({peers.rss_idle_spread_mb.baton} MB), Janus {peers.rss_mb_per_viewer.janus} MB ({peers.rss_idle_spread_mb.janus} MB), nginx {peers.rss_mb_per_viewer.hls} MB ({peers.rss_idle_spread_mb.hls} MB)',
  },
  {
    figure:
      'peers: the most headless live viewers held with ≤ 1 % of video frames late (more than 200 ms behind the schedule the stream set), of the counts tried (1, 10, 40 quick)',
    value: 'Baton {peers.max_viewers_on_time.baton:int}',
    targets: [],
    against:
      'Baton WHEP {peers.max_viewers_on_time.baton_whep:int}; Janus {peers.max_viewers_on_time.janus:int}; nginx HLS {peers.max_viewers_on_time.hls:int}; late at 40: Baton {peers.late_share.baton.v40}, WHEP {peers.late_share.baton_whep.v40}, Janus {peers.late_share.janus.v40}, HLS {peers.late_share.hls.v40}; CPU per viewer-second at 40: Baton {peers.server_cpu_ms_per_viewer_s.baton.v40} ms, Janus {peers.server_cpu_ms_per_viewer_s.janus.v40} ms, nginx {peers.server_cpu_ms_per_viewer_s.hls.v40} ms',
  },
  {
    figure:
      'seek to a random point of a {seek.asset_s:int} s asset[[ (full run: of a {full:seek.asset_s:int} s one)]] in Chromium (currentTime set → new frame shown)',
    value:
      '{seek.p50_ms} ms p50, {seek.p90_ms} ms p90[[; {full:seek.asset_s:int} s asset: {full:seek.p50_ms} ms p50, {full:seek.p90_ms} ms p90]]',
    targets: ['seek.ratio_vs_http'],
    against:
      '{seek.ratio_vs_http}× plain HTTP range requests into MSE from the same media server ({seek.http_p50_ms} ms p50)[[; {full:seek.asset_s:int} s asset: {full:seek.ratio_vs_http}× ({full:seek.http_p50_ms} ms p50, {full:seek.samples:int} seeks, {full:seek.failed_samples:int} failed)]]',
  },
  {
    figure:
      'Auto in Chromium, a {abr.asset_s:int} s 360p clip at {abr.top_bitrate_bps} b/s; the link cut to {abr.limit_bps} b/s, then restored',
    value:
      '{abr.stalls_after_start} stalls after start-up; top rung again {abr.climb_ms} ms after the restore (on screen {abr.climb_shown_ms} ms)',
    targets: ['abr.stalls_after_start', 'abr.climb_ms'],
    against:
      'down {abr.down_ms} ms after the cut to a rung of {abr.settled_bitrate_bps} b/s; first climb {abr.first_climb_ms} ms; the server made 240p and 144p in {abr.renditions_ready_ms} ms',
  },
];

export interface ReliabilityRow {
  /** The fault injected; may name figures (counts the test generated). */
  fault: string;
  /** What must hold (the test asserts it). */
  holds: string;
  /** The figures the test recorded, from `npm run bench -- --only faults`. */
  figure: string;
}

export const RELIABILITY_ROWS: ReliabilityRow[] = [
  {
    fault: 'SIGKILL a media server mid-stream',
    holds: 'viewer resumes on another holder at the same byte offset; sha256 equal',
    figure: 'resumed {faults.server_crash.resume_ms:int} ms after the kill at byte {faults.server_crash.resume_offset_bytes:int}',
  },
  {
    fault: 'SIGKILL the director with selections in flight[[ ({faults.director_crash.in_flight_at_kill:int})]]',
    holds: 'new director within 3 heartbeats; each request answered once; one director per epoch',
    figure:
      'new director after {faults.director_crash.new_director_ms:int} ms ({faults.director_crash.new_director_heartbeats:2} heartbeats); {faults.director_crash.answered_once_share:pct} of {faults.director_crash.requests:int} requests answered exactly once',
  },
  {
    fault: 'restart the hub (SIGKILL and SIGTERM)',
    holds: 'WebRTC sessions keep flowing; servers re-register; no duplicate ids',
    figure:
      '{faults.hub_restart.sigkill.bytes_while_hub_down:int} B / {faults.hub_restart.sigterm.bytes_while_hub_down:int} B delivered while the hub was down; re-registered after {faults.hub_restart.sigkill.reregister_ms:int} / {faults.hub_restart.sigterm.reregister_ms:int} ms (SIGKILL / SIGTERM)',
  },
  {
    fault: 'SIGKILL the primary entry server mid-upload',
    holds: '0 bytes lost on the backup; replacement filled; live viewers continue',
    figure:
      '{faults.ingest_primary_kill.bytes_lost:int} bytes lost; replacement named {faults.ingest_primary_kill.failover_ms:int} ms and filled {faults.ingest_primary_kill.replacement_fill_ms:int} ms after the kill; {faults.ingest_primary_kill.viewers_failed_over:int} of {faults.ingest_primary_kill.viewers:int} live viewers moved, longest stall {faults.ingest_primary_kill.viewer_stall_ms:int} ms',
  },
  {
    fault: 'a viewer reading at a tenth of the bitrate[[ ({faults.slow_viewer.read_share_of_bitrate:pct})]]',
    holds: 'its queue stays under the cap; others keep ≥ 95 %; it is told and dropped',
    figure:
      'queue peak {faults.slow_viewer.max_queued_bytes:int} B; held {faults.slow_viewer.max_held_bytes:int} B of a {faults.slow_viewer.held_cap_bytes:int} B cap; others kept {faults.slow_viewer.others_throughput_kept_share:pct}; dropped after {faults.slow_viewer.dropped_after_ms:int} ms (timeout {faults.slow_viewer.timeout_ms:int} ms)',
  },
  {
    fault:
      'malformed/unknown/oversized socket.io messages[[ ({faults.hostile_input.socketio_inputs_delivered:int})]] and bad data-channel frames[[ ({faults.hostile_input.datachannel_frames:int})]]',
    holds: 'error reply or closed socket; nothing exits; table unchanged',
    figure:
      '{faults.hostile_input.socketio_acks:int} well-formed acks, {faults.hostile_input.socketio_acks_cut_by_close:int} cut short by a close, {faults.hostile_input.socketio_error_events:int} error events, {faults.hostile_input.socketio_connections_closed:int} sockets closed; {faults.hostile_input.datachannel_error_frames:int} error frames, {faults.hostile_input.datachannel_channels_closed:int} channels closed',
  },
  {
    fault: 'forged, expired and replayed server tokens',
    holds: 'refused before anything enters the table',
    figure: '{faults.server_auth.refused_attempts:int} refused, {faults.server_auth.table_entries_from_refused:int} table entries',
  },
  {
    fault: 'asset ids with `../`, `%2e%2e%2f`, absolute paths, backslashes, NUL, 10 KB',
    holds: 'refused like unknown ids; nothing outside the root touched',
    figure:
      '{faults.hostile_input.path_ids_refused:int} refused at the hub, {faults.hostile_hub.path_ids_refused:int} straight at a server',
  },
  {
    fault: 'watch requests from one client at 1,000/s[[ ({faults.flood.flooder_requests:int} sent)]] beside 100 normal joins',
    holds: 'the flooder is rate-limited; ≥ 99 % of normal joins succeed',
    figure:
      '{faults.flood.flooder_rate_limited_share:pct} of the flood refused; {faults.flood.normal_join_success_share:pct} of joins ok (p99 {faults.flood.normal_join_p99_ms:int} ms)',
  },
  {
    fault: 'viewers that vanish without closing[[ ({faults.vanish.viewers:int})]]',
    holds: 'peers, fds and memory back to baseline within the liveness timeout',
    figure:
      'fds {faults.vanish.fds_baseline:int} → {faults.vanish.fds_peak:int} → {faults.vanish.fds_after:int} in {faults.vanish.cleanup_ms:int} ms (timeout {faults.vanish.liveness_timeout_ms:int} ms)',
  },
  {
    fault: 'a relayed SDP with an altered DTLS fingerprint (in the offer, then in the answer)',
    holds: 'no connection, no bytes',
    figure: '{faults.dtls_mitm.offer.bytes_delivered:int} / {faults.dtls_mitm.answer.bytes_delivered:int} bytes delivered',
  },
  {
    fault: 'signaling for a session the client is not part of',
    holds: 'ignored and logged; the other session unaffected',
    figure: '{faults.signal_hijack.ignored_messages:int} messages ignored',
  },
  {
    fault: 'disk full during ingest[[ ({faults.ingest_disk_full.disk_bytes:int} B disk)]]',
    holds: 'broadcaster told; no corrupt file; the other entry server continues',
    figure:
      'told {faults.ingest_disk_full.told_ms:int} ms after the server logged it; {faults.ingest_disk_full.other_copy_bytes_lost:int} bytes lost on the other copy',
  },
  {
    fault:
      'a `signal` (and `watch`, `publish`, `places`, `register`, `report`, `resync`) nested 7,000 and 100,000 deep, on every namespace',
    holds: 'an error reply before any recursive walk; the hub lives and answers a real `watch`',
    figure:
      '{faults.deep_input.error_replies:int} error replies (deepest refused: {faults.deep_input.max_depth_refused:int}); hub RSS +{faults.deep_input.hub_rss_growth_mb} MB',
  },
  {
    fault:
      'a {faults.read_limits.catalog_assets:int}-asset catalog; {faults.read_limits.flood_requests:int} parallel requests from one IP; {faults.read_limits.dashboard_resyncs_asked:int} resyncs and 20 dashboard connections at once',
    holds:
      'pages of ≤ 1,000, each id once, in order; the flooding IP gets 429 while another is served; resync and dashboard connections capped',
    figure:
      '{faults.read_limits.catalog_pages_walked:int} pages walked in {faults.read_limits.catalog_walk_ms:int} ms; {faults.read_limits.flood_served:int} of {faults.read_limits.flood_requests:int} served; {faults.read_limits.dashboard_resyncs_served:int} of {faults.read_limits.dashboard_resyncs_asked:int} resyncs served; {faults.read_limits.dashboard_connects_refused_of_20:int} of 20 dashboard connections refused',
  },
  {
    fault: '{faults.leave_flood.leaves:int} `leave`s for sessions the client is not part of',
    holds: "they spend the connection's rate tokens; one warning per connection, the rest counted in `/metrics`",
    figure: '{faults.leave_flood.warn_lines:int} warning line(s)',
  },
  {
    fault: 'a server registering with `lastEpoch` 2^53 − 1, then 2^40; the hub restarted',
    holds: 'the first refused, the second ignored (step > 10^6); watches work; after the restart the honest server re-registers',
    figure:
      'epoch {faults.epoch_abuse.epoch_after_rogue:int} after the rogue, {faults.epoch_abuse.epoch_after_restart:int} after the restart',
  },
  {
    fault: 'a broadcaster\'s device fix (38.7223, −9.1393, "Rua Augusta 24")',
    holds: '`/api/decisions` and the dashboard show 38.7, −9.1 "near Lisbon, PT"; operator views refused without the token',
    figure:
      '{faults.operator_views.refused_without_token:int} views refused without the token; coordinates kept to {faults.operator_views.public_coordinate_decimals:int} decimal',
  },
  {
    fault: 'a 1-byte cluster secret, secret flag and file both, a 5,000-deep `--config`',
    holds: 'start-up stops with the reason',
    figure: 'asserted by test/faults/hub-trust.test.ts (no figure)',
  },
  {
    fault:
      'one anonymous connection sending `watch` every 52 ms and never signalling; a burst of unconnected sessions; every watch slot taken by playing viewers',
    holds:
      'the attacker holds at most 4 sessions and a real `baton watch` plays; unconnected sessions are freed at the 5 s expiry; a broadcast still gets a primary and a backup',
    figure:
      'attacker: {faults.session_caps.attacker_watches:int} watches, {faults.session_caps.attacker_accepted:int} accepted, {faults.session_caps.attacker_refused_too_many_sessions:int} `too-many-sessions`, at most {faults.session_caps.attacker_peak_open_sessions:int} open; servers peaked at {faults.session_caps.peak_sessions_total:int} of {faults.session_caps.viewer_slots_total:int} slots; {faults.session_caps.burst_sessions:int} unconnected sessions lived ≤ {faults.session_caps.burst_longest_session_life_ms:int} ms (expiry {faults.session_caps.unconnected_expiry_ms:int}); {faults.session_caps.ip_unconnected_accepted:int} per IP',
  },
  {
    fault: 'a publisher sending 1-byte chunks as fast as it can; SIGTERM during a flood; a second server on the same storage',
    holds:
      'flooder closed (`too-many-chunks`); RSS < baseline + 200 MB and back; exit within the 3 s flush deadline; the live `.part` kept',
    figure:
      'closed after {faults.ingest_flood.chunks_before_close:int} chunks ({faults.ingest_flood.closed_after_ms:int} ms); RSS +{faults.ingest_flood.rss_growth_mb} MB; exit {faults.ingest_flood.sigterm_exit_ms:int} ms after SIGTERM',
  },
  {
    fault: 'two `publish` of one id at once; a second broadcaster after a hub restart',
    holds: "one wins, the other `conflict`; every copy is the winner's bytes; the takeover refused, the owner's secret accepted",
    figure:
      '{faults.stream_owner.race_winners:int} winner; {faults.stream_owner.takeovers_refused_after_hub_restart:int} takeovers refused',
  },
  {
    fault: 'a viewer asking `fast` and restarting on every `end`; 30 restarts at once',
    holds: 'paced anyway (≤ 5× the bitrate over 15 s); restarts past 10 in 10 s refused',
    figure: '{faults.viewer_pacing.restart_loop_bitrate_multiple}× the bitrate; {faults.viewer_pacing.restarts_refused:int} of 30 refused',
  },
  {
    fault:
      'viewer ICE candidates to a private address and a hostname; a symlink swapped into storage; non-WebM and unknown-codec broadcasts',
    holds: 'dropped and counted, the viewer still connects; 404 with no bytes; `unsupported-media`, nothing stored',
    figure:
      '{faults.media_hardening.denied_candidate_packets:int} packets to the refused address; {faults.media_hardening.non_webm_refused:int} broadcasts refused',
  },
  {
    fault:
      'fuzz: schema-derived and hostile inputs over `/client`, `/server` (unregistered and registered), `/dashboard` and HTTP ({faults.fuzz_ci.inputs:int} in `npm test`[[; {faults.fuzz_full.inputs:int} in `npm run test:fuzz`]])',
    holds: '0 exits, 0 unanswered acks, no 5xx, the table unchanged, RSS after GC within 10 %',
    figure:
      '{faults.fuzz_ci.unanswered:int} unanswered, {faults.fuzz_ci.http_5xx:int} 5xx, RSS {faults.fuzz_ci.rss_after_over_baseline}× baseline[[ (full: {faults.fuzz_full.unanswered:int} unanswered of {faults.fuzz_full.inputs:int})]]',
  },
  {
    fault: 'SIGSTOP the primary entry server mid-upload until the hub drops it, then SIGCONT',
    holds: 'the stalled primary finishes its copy; every stored copy is the source, sha256 equal',
    figure:
      "stopped {faults.ingest_primary_stall.stopped_ms:int} ms at {faults.ingest_primary_stall.primary_bytes_at_stop:int} of {faults.ingest_primary_stall.stream_bytes:int} B; {faults.ingest_primary_stall.copies_stored:int} copies stored, the primary's among them",
  },
  {
    fault: 'idle TCP connections held open against the hub up to `--max-connections` ({faults.connection_caps.max_connections:int})',
    holds: 'the connection past the cap and a real request are dropped; one closing lets a request in; 64 per address (unit-tested)',
    figure: '{faults.connection_caps.dropped:int} connections dropped',
  },
  {
    fault: 'a `/client` connection asking for catalog pages 15 times a second and never reading the replies',
    holds: 'disconnected once it holds 2 MiB unread; the hub does not keep the replies',
    figure:
      'disconnected after {faults.slow_reader.disconnected_after_ms:int} ms ({faults.slow_reader.pages_asked:int} pages asked); hub RSS +{faults.slow_reader.hub_rss_growth_mb} MB',
  },
];
