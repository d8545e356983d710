# One image for every platform process (producer, bridge, worker, processor, graphql, provision,
# the events CLI); the command picks the process. Built once: TypeScript compiled to dist/ and the
# workflow code bundled ahead of time (dist/workflow-bundle.js), so processes start without tsx
# and workers without webpack.
#
#   docker build -t event-platform .
#   docker run --rm -e KAFKA_BOOTSTRAP_SERVERS=... event-platform node dist/src/producer/server.js
#
# Configuration comes only from environment variables (src/platform/config/, env.example).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json && node dist/infra/bundle-workflows.js

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# Production dependencies only. The Temporal worker's native core ships prebuilt for glibc (bookworm).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# The compiled code, owned by root and read-only for the process user.
COPY --from=build /app/dist ./dist
# The node image's unprivileged user (uid 1000).
USER node
EXPOSE 8000 8001 8002
CMD ["node", "dist/src/producer/server.js"]
