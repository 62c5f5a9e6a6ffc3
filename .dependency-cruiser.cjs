// Who may import whom (dependency-cruiser; `.ci/run` checks it): no import circles, and the layers of
// docs/architecture.md — the wire contract and platform-neutral helpers import nothing of ours above them,
// the hub knows no media server or page, the client SDK no server, page or Node, the pages no server or hub module,
// the hub core no socket.io.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle makes start-up order and tests depend on which module loads first: split out what both need.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'hub-not-above-its-layer',
      severity: 'error',
      comment: 'The hub (signaling/) is its own process: policies it runs live beside it, never in the media server or the pages.',
      from: { path: '^signaling/' },
      to: { path: '^(node-app|web-client|client-sdk)/' },
    },
    {
      name: 'client-sdk-is-platform-neutral',
      severity: 'error',
      comment: 'The client SDK runs in browsers and in Node alike: no server, no page, no Node builtins.',
      from: { path: '^client-sdk/' },
      to: { path: '^(node-app|web-client)/' },
    },
    {
      name: 'client-sdk-no-node-builtins',
      severity: 'error',
      comment: 'The client SDK runs in browsers: Node builtins are injected by the caller (wrtc, sockets), never imported.',
      from: { path: '^client-sdk/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'pages-import-no-process',
      severity: 'error',
      comment: 'The pages run in browsers: they take the contract, the client SDK and common/, never a media server or hub module (what both need goes to common/).',
      from: { path: '^web-client/' },
      to: { path: '^(node-app/|signaling/(?!protocol/))' },
    },
    {
      name: 'common-is-platform-neutral',
      severity: 'error',
      comment: 'common/ holds helpers every layer imports: it imports none of them but the wire contract (signaling/protocol/, whose error codes make up the one vocabulary), and no Node builtin.',
      from: { path: '^common/' },
      to: { path: '^(signaling/(?!protocol/)|node-app/|web-client/|client-sdk/|bench/|test/)' },
    },
    {
      name: 'hub-core-knows-no-transport',
      severity: 'error',
      comment: 'The hub core runs on socket.io in production and on an in-memory link in test/sim: only signaling/transport/ imports socket.io.',
      from: { path: '^signaling/core/' },
      to: { path: 'node_modules/(socket\\.io|socket\\.io-client|engine\\.io)/' },
    },
    {
      name: 'hub-core-no-http',
      severity: 'error',
      comment: 'The hub core answers calls, not requests: HTTP and the socket namespaces are transports.',
      from: { path: '^signaling/core/' },
      to: { path: '^signaling/(transport/|hub\\.ts|http-routes\\.ts|whip-(routes|request|resume)\\.ts)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] },
    moduleSystems: ['es6', 'cjs'],
  },
};
