// Entry point of the web client. On a watch route the hub socket opens first (client-socket.ts: socket.io, no
// schemas), and the watch starts on it, its peer connecting and its first bytes playing (early-playback.ts); then
// early-watch.ts (the Viewer, with the wire schemas) and the app's components (<baton-app> and every page's) load in
// their own chunks, and the player adopts the socket, the watch and the playback.
import { appMayLoad, openEarlySocket } from './components/client-socket.js';

openEarlySocket();
// The start of a stored asset plays before the rest loads (early-playback.ts): evaluating and rendering the app would
// hold the page's one thread while the connection comes up and the first bytes go in.
void appMayLoad().then(() => {
  void import('./components/early-watch.js').then((m) => m.startEarlyWatch());
  void import('./components/baton-app.js');
});
