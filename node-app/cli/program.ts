// The `baton` command line: hub, server, watch, publish (each in its *-command.ts), demo, stream-key, server-key, dev. Every flag has an environment variable.
import { resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { projectVersion } from '../project-root.js';
import { addHubCommand } from './hub-command.js';
import { assetId, int, num, opt } from './parsers.js';
import { addPublishCommand } from './publish-command.js';
import { addServerCommand } from './server-command.js';
import { applySettings, dropEmptyEnv } from './settings.js';
import { addWatchCommand } from './watch-command.js';

/** The whole `baton` command tree, unparsed (main.ts parses argv; tests walk every option). */
export function createProgram(): Command {
  const program = new Command('baton')
    .description('Baton: a browser-based WebRTC streaming network (signaling hub, media servers, web client).')
    .version(projectVersion(), '-V, --version', 'print the version of Baton')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true });

  program.hook('preSubcommand', (_root, cmd) => dropEmptyEnv(cmd));
  program.hook('preAction', (_root, cmd) => applySettings(cmd));

  // Help lists the commands in this order.
  addHubCommand(program);
  addServerCommand(program);
  addWatchCommand(program);
  addPublishCommand(program);

  program
    .command('demo')
    .description('Run the whole network locally: hub, N media servers with demo media, and the web client.')
    .addOption(opt('--servers <n>', 'number of media servers', 'BATON_DEMO_SERVERS', int('servers', 1, 64), 3))
    .addOption(opt('--port <n>', 'hub port', 'BATON_PORT', int('port', 0, 65535), 8080))
    .addOption(opt('--data-dir <dir>', 'where demo media and server storage live', 'BATON_DATA_DIR', undefined, 'var'))
    .addOption(opt('--cache-mb <n>', 'cache budget per server, MiB', 'BATON_CACHE_MB', num('cache-mb', 0, 1_000_000), 64))
    .addOption(opt('--stream-key <k>', 'stream key accepted for broadcasting', 'BATON_STREAM_KEYS', undefined, 'demo-key'))
    .option('--no-build', 'do not build the web client when it is missing')
    .option('--quiet', 'print only problems (no URLs, no "stopped" line)')
    // `npm start --port 8090` hands the script "8090" alone (npm keeps the flag as its own setting): say how npm passes flags.
    .argument('[stray...]')
    .usage('[options]')
    .action(async (stray: string[], o, cmd: Command) => {
      if (stray.length > 0)
        cmd.error(
          `error: baton demo takes no arguments, got ${stray.map((a) => `"${a}"`).join(' ')}; through npm, flags go after --: npm start -- --port 8090`,
        );
      const { runDemo } = await import('./demo.js');
      await runDemo({
        servers: o.servers,
        port: o.port,
        dataDir: resolve(o.dataDir),
        cacheMb: o.cacheMb,
        streamKey: o.streamKey,
        build: o.build,
        quiet: Boolean(o.quiet),
      });
    });

  program
    .command('stream-key')
    .description('Mint a signed stream key for broadcasters (accepted by a hub started with the same --stream-key-secret).')
    .addOption(opt('--stream-key-secret <s>', "the hub's stream-key secret (required)", 'BATON_STREAM_KEY_SECRET'))
    .addOption(opt('--stream-key-secret-file <file>', 'read the stream-key secret from this file', 'BATON_STREAM_KEY_SECRET_FILE'))
    .addOption(opt('--valid-minutes <n>', 'how long the key is valid', 'BATON_STREAM_KEY_MINUTES', int('valid-minutes', 1, 525_600), 60))
    .option('--stream-id <id>', 'restrict the key to one stream id', assetId)
    .action(async (o) => {
      if (!o.streamKeySecret) throw new InvalidArgumentError('--stream-key-secret (or BATON_STREAM_KEY_SECRET) is required');
      const { mintStreamKey } = await import('../../signaling/policies/stream-key.js');
      console.log(mintStreamKey(o.streamKeySecret, { expiresAtMs: Date.now() + o.validMinutes * 60_000, streamId: o.streamId }));
    });

  program
    .command('server-key')
    .description(
      "Print a media server's own key, made from the cluster secret and its id: give it to that server (--server-key-file) instead of the cluster secret, and it can sign for no other id.",
    )
    .addOption(opt('--cluster-secret <s>', 'the cluster secret (required; prefer the -file form)', 'BATON_CLUSTER_SECRET'))
    .addOption(opt('--cluster-secret-file <file>', 'read the cluster secret from this file', 'BATON_CLUSTER_SECRET_FILE'))
    .addOption(opt('--id <id>', 'the server id ([A-Za-z0-9_-], ≤ 64; required)', 'BATON_SERVER_ID', assetId))
    .action(async (o) => {
      const { serverKeyFor } = await import('../../signaling/auth.js');
      console.log(serverKeyFor(o.clusterSecret, o.id));
    });

  program
    .command('dev')
    .description('Develop the web client: Vite with hot reload, proxying to a hub and servers restarted on code changes.')
    .addOption(opt('--servers <n>', 'number of media servers', 'BATON_DEMO_SERVERS', int('servers', 1, 64), 3))
    .addOption(opt('--hub-port <n>', 'hub port', 'BATON_PORT', int('hub-port', 1, 65535), 8080))
    .addOption(opt('--vite-port <n>', 'Vite dev server port', 'BATON_VITE_PORT', int('vite-port', 1, 65535), 5173))
    .action(async (o) => {
      const { runDev } = await import('./dev.js');
      await runDev({ servers: o.servers, hubPort: o.hubPort, vitePort: o.vitePort });
    });

  return program;
}
