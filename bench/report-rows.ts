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
    against: 'a delta as a replica received it ({replication.delta_bytes:int} B) ÷ the full snapshot ({replication.snapshot_bytes_100x10000:int} B)',
  },
  {
    figure: 'storage read, interval cache ÷ LRU (cache = 5 % of catalog; simulated {cache.sim_block_kib:int} KiB blocks)',
    value: '{cache.storage_read_ratio_vs_lru.zipf07} (Zipf 0.7), {cache.storage_read_ratio_vs_lru.zipf10} (Zipf 1.0)',
    targets: ['cache.storage_read_ratio_vs_lru.zipf07', 'cache.storage_read_ratio_vs_lru.zipf10'],
    against: 'LRU, same trace and memory',
  },
  {
    figure: 'storage read, interval cache ÷ no cache (Zipf 1.0, 5 % of catalog; simulated {cache.sim_block_kib:int} KiB blocks)',
    value: '{cache.storage_read_ratio_vs_nocache.zipf10}',
    targets: ['cache.storage_read_ratio_vs_nocache.zipf10'],
    against: 'no cache; with 10 % of the catalog {cache.storage_read_ratio_vs_nocache.zipf10.pct10}, with 20 % {cache.storage_read_ratio_vs_nocache.zipf10.pct20}',
  },
  {
    figure: 'one WebRTC session (unpaced ServeSession) ÷ the raw data channel',
    value: '{delivery.session_ratio_vs_raw_channel}',
    targets: ['delivery.session_ratio_vs_raw_channel'],
    against: 'raw simple-peer + node-datachannel in the same run ({delivery.raw_channel_mbps:int} Mbit/s); one server to 8 viewer processes: {delivery.egress_mbps_8_viewers:int} Mbit/s in all',
  },
  {
    figure: 'load balance, peak ÷ mean load (simulator: {lb.sim_servers:int} servers, {lb.sim_requests:int} requests, {lb.sim_block_mib:int} MiB blocks)',
    value: '{lb.max_mean_load.baton}[[; full run ({full:lb.sim_servers:int} servers, {full:lb.sim_requests:int} requests): {full:lb.max_mean_load.baton}]][[; full run, 1,000,000 requests: {full:lb.max_mean_load_1m.baton}]]',
    targets: ['lb.max_mean_load.baton'],
    against: 'bounded-load hashing {lb.max_mean_load.bounded-load}, Baton without its load bound {lb.max_mean_load.baton-unbounded}[[ (full run: {full:lb.max_mean_load.bounded-load}, {full:lb.max_mean_load.baton-unbounded})]]',
  },
  {
    figure: 'share of viewer bytes served from caches (simulator, as above)',
    value: '{lb.cache_served_share.baton}[[; full run: {full:lb.cache_served_share.baton}]][[; full run, 1,000,000 requests: {full:lb.cache_served_share_1m.baton}]]',
    targets: ['lb.cache_served_share.baton'],
    against: 'bounded-load hashing {lb.cache_served_share.bounded-load}, least-loaded {lb.cache_served_share.least-loaded}[[ (full run: {full:lb.cache_served_share.bounded-load}, {full:lb.cache_served_share.least-loaded})]]',
  },
  {
    figure: 'simulator, 1,000,000 requests with the real cache (full run only)',
    value: '{full:lb.sim_wall_s_1m_requests.baton} s',
    targets: ['lb.sim_wall_s_1m_requests.baton'],
    against: '[[{full:lb.sim_cpu_s_per_1m_requests_null_cache} CPU s with a no-op cache]]',
  },
  {
    figure: 'hub joins/s with p99 ≤ 50 ms (quick ladder)',
    value: '{hub.joins_per_s:int} (p99 {hub.join_p99_ms} ms)[[; full ladder: {full:hub.joins_per_s:int} (p99 {full:hub.join_p99_ms} ms)]]',
    targets: ['hub.joins_per_s', 'hub.join_p99_ms'],
    against: '`catalog` (hub alone) at that rate: p99 {hub.catalog_p99_ms_at_join_rate} ms; CPU: hub {hub.hub_cpu_cores_at_join_rate} cores, 3 servers {hub.servers_cpu_cores_at_join_rate}; hub RSS {hub.rss_mb:int} MB (geoip-lite loaded)',
  },
  {
    figure: 'dual upload bytes ÷ stream bytes',
    value: '{ingest.upload_overhead_ratio:3}',
    targets: ['ingest.upload_overhead_ratio'],
    against: '—',
  },
  {
    figure: 'live transport, Node publisher reads a chunk → Node viewer has it (no camera, encoder or browser; publisher at {live.publish_speed}× real time)',
    value: '{live.transport_ms_p50} ms p50, {live.transport_ms_p95} ms p95',
    targets: ['live.transport_ms_p50'],
    against: '—',
  },
  {
    figure: "live viewer stall when its server is SIGKILLed (kill → first byte from another server)",
    value: '{ingest.failover_stall_ms} ms',
    targets: ['ingest.failover_stall_ms'],
    against: '—',
  },
  {
    figure: 'time to first frame in Chromium',
    value: '{ttff.p50_ms} ms p50',
    targets: ['ttff.p50_ms', 'ttff.ratio_vs_http'],
    against: '{ttff.ratio_vs_http}× plain HTTP into MSE from the same server ({ttff.http_p50_ms} ms); Baton, from navigation start: player defined {ttff.app_ready_p50_ms} ms, hub WebSocket open {ttff.socket_open_p50_ms} ms, data channel open {ttff.channel_open_p50_ms} ms, first media bytes {ttff.first_data_p50_ms} ms',
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
    figure: 'new director after {faults.director_crash.new_director_ms:int} ms ({faults.director_crash.new_director_heartbeats:2} heartbeats); {faults.director_crash.answered_once_share:pct} of {faults.director_crash.requests:int} requests answered exactly once',
  },
  {
    fault: 'restart the hub (SIGKILL and SIGTERM)',
    holds: 'WebRTC sessions keep flowing; servers re-register; no duplicate ids',
    figure: '{faults.hub_restart.sigkill.bytes_while_hub_down:int} B / {faults.hub_restart.sigterm.bytes_while_hub_down:int} B delivered while the hub was down; re-registered after {faults.hub_restart.sigkill.reregister_ms:int} / {faults.hub_restart.sigterm.reregister_ms:int} ms (SIGKILL / SIGTERM)',
  },
  {
    fault: 'SIGKILL the primary entry server mid-upload',
    holds: '0 bytes lost on the backup; replacement filled; live viewers continue',
    figure: '{faults.ingest_primary_kill.bytes_lost:int} bytes lost; replacement named {faults.ingest_primary_kill.failover_ms:int} ms and filled {faults.ingest_primary_kill.replacement_fill_ms:int} ms after the kill; {faults.ingest_primary_kill.viewers_failed_over:int} of {faults.ingest_primary_kill.viewers:int} live viewers moved, longest stall {faults.ingest_primary_kill.viewer_stall_ms:int} ms',
  },
  {
    fault: 'a viewer reading at a tenth of the bitrate[[ ({faults.slow_viewer.read_share_of_bitrate:pct})]]',
    holds: 'its queue stays under the cap; others keep ≥ 95 %; it is told and dropped',
    figure: 'queue peak {faults.slow_viewer.max_queued_bytes:int} B; held {faults.slow_viewer.max_held_bytes:int} B of a {faults.slow_viewer.held_cap_bytes:int} B cap; others kept {faults.slow_viewer.others_throughput_kept_share:pct}; dropped after {faults.slow_viewer.dropped_after_ms:int} ms (timeout {faults.slow_viewer.timeout_ms:int} ms)',
  },
  {
    fault: 'malformed/unknown/oversized socket.io messages[[ ({faults.hostile_input.socketio_inputs_delivered:int})]] and bad data-channel frames[[ ({faults.hostile_input.datachannel_frames:int})]]',
    holds: 'error reply or closed socket; nothing exits; table unchanged',
    figure: '{faults.hostile_input.socketio_acks:int} well-formed acks, {faults.hostile_input.socketio_acks_cut_by_close:int} cut short by a close, {faults.hostile_input.socketio_error_events:int} error events, {faults.hostile_input.socketio_connections_closed:int} sockets closed; {faults.hostile_input.datachannel_error_frames:int} error frames, {faults.hostile_input.datachannel_channels_closed:int} channels closed',
  },
  {
    fault: 'forged, expired and replayed server tokens',
    holds: 'refused before anything enters the table',
    figure: '{faults.server_auth.refused_attempts:int} refused, {faults.server_auth.table_entries_from_refused:int} table entries',
  },
  {
    fault: 'asset ids with `../`, `%2e%2e%2f`, absolute paths, backslashes, NUL, 10 KB',
    holds: 'refused like unknown ids; nothing outside the root touched',
    figure: '{faults.hostile_input.path_ids_refused:int} refused at the hub, {faults.hostile_hub.path_ids_refused:int} straight at a server',
  },
  {
    fault: 'watch requests from one client at 1,000/s[[ ({faults.flood.flooder_requests:int} sent)]] beside 100 normal joins',
    holds: 'the flooder is rate-limited; ≥ 99 % of normal joins succeed',
    figure: '{faults.flood.flooder_rate_limited_share:pct} of the flood refused; {faults.flood.normal_join_success_share:pct} of joins ok (p99 {faults.flood.normal_join_p99_ms:int} ms)',
  },
  {
    fault: 'viewers that vanish without closing[[ ({faults.vanish.viewers:int})]]',
    holds: 'peers, fds and memory back to baseline within the liveness timeout',
    figure: 'fds {faults.vanish.fds_baseline:int} → {faults.vanish.fds_peak:int} → {faults.vanish.fds_after:int} in {faults.vanish.cleanup_ms:int} ms (timeout {faults.vanish.liveness_timeout_ms:int} ms)',
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
    figure: 'told {faults.ingest_disk_full.told_ms:int} ms after the server logged it; {faults.ingest_disk_full.other_copy_bytes_lost:int} bytes lost on the other copy',
  },
];
