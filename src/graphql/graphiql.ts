/**
 * GraphiQL served from this process, with its scripts and styles from node_modules rather than a
 * CDN, so it works on machines that reach nothing but this server (air-gapped, CI, locked-down
 * networks). Mercurius's bundled page loads them from unpkg at runtime.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';

const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

const ASSETS: Record<string, { path: string; type: string }> = {
  'graphiql.min.css': { path: join(packageDir('graphiql'), 'graphiql.min.css'), type: 'text/css; charset=utf-8' },
  'graphiql.min.js': { path: join(packageDir('graphiql'), 'graphiql.min.js'), type: 'text/javascript; charset=utf-8' },
  'react.production.min.js': { path: join(packageDir('react'), 'umd', 'react.production.min.js'), type: 'text/javascript; charset=utf-8' },
  'react-dom.production.min.js': { path: join(packageDir('react-dom'), 'umd', 'react-dom.production.min.js'), type: 'text/javascript; charset=utf-8' },
};

const DEFAULT_QUERY = `# The newest events. Page with: latestEvents(limit: 10, after: "<cursor of the last event>")
# Live, as they are stored (filters optional; with keys on, put the read key in Headers):
#   subscription { eventStored(eventType: "page_view") { eventId eventType userId timestamp payload } }
{
  latestEvents(limit: 10) {
    eventId
    eventType
    userId
    timestamp
    payload
    cursor
  }
}
`;

function page(graphqlPath: string, assetsPath: string): string {
  const script = (file: string) => `<script src="${assetsPath}/${file}"></script>`;
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>GraphiQL · event platform</title>
  <link rel="icon" href="data:,"><!-- no /favicon.ico request: it would be a 404 in the console -->
  <link rel="stylesheet" href="${assetsPath}/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  ${script('react.production.min.js')}
  ${script('react-dom.production.min.js')}
  ${script('graphiql.min.js')}
  <script>
    // Subscriptions go over WebSocket (graphql-ws, bundled in graphiql.min.js) to the same path;
    // the Headers tab is sent as the connection's connectionParams, so a read key works there too.
    const url = new URL(${JSON.stringify(graphqlPath)}, location.href);
    const subscriptionUrl = new URL(url);
    subscriptionUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const fetcher = GraphiQL.createFetcher({ url: url.toString(), subscriptionUrl: subscriptionUrl.toString() });
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery: ${JSON.stringify(DEFAULT_QUERY)}, defaultEditorToolsVisibility: true }),
    );
  </script>
</body>
</html>
`;
}

/** GET /graphiql and its assets. Files are read once, on first request. */
export function registerGraphiql(app: FastifyInstance, graphqlPath = '/graphql', path = '/graphiql'): void {
  const html = page(graphqlPath, `${path}/assets`);
  const cache = new Map<string, Buffer>();
  app.get(path, async (_req, reply) => reply.type('text/html; charset=utf-8').send(html));
  app.get<{ Params: { file: string } }>(`${path}/assets/:file`, async (req, reply) => {
    const asset = ASSETS[req.params.file];
    if (!asset) return reply.code(404).send({ error: `no asset ${req.params.file}` });
    let body = cache.get(req.params.file);
    if (!body) cache.set(req.params.file, (body = readFileSync(asset.path)));
    return reply.type(asset.type).header('cache-control', 'public, max-age=86400').send(body);
  });
}
