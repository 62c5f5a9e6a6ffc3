// Entry point of the web client. On a watch route the hub socket and the watch start first (early-watch.ts);
// the app's components (<baton-app> and every page's) load after, in their own chunk, while that connects.
import { startEarlyWatch } from './components/early-watch.js';

startEarlyWatch();
void import('./components/baton-app.js');
