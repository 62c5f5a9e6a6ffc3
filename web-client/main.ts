// Entry point of the web client. On a watch route the hub socket opens first (client-socket.ts: socket.io, no
// schemas), then the watch starts on it (early-watch.ts, with the wire schemas); the app's components (<baton-app>
// and every page's) load in their own chunk meanwhile, and the player adopts the socket and the watch.
import { openEarlySocket } from './components/client-socket.js';

openEarlySocket();
void import('./components/early-watch.js').then((m) => m.startEarlyWatch());
void import('./components/baton-app.js');
