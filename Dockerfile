# One image for every platform process (producer, bridge, worker, graphql, provision); the
# command picks the process. tsx runs the TypeScript sources directly, so there is no build step.
#
#   docker build -t event-platform .
#   docker run --rm -e KAFKA_BOOTSTRAP_SERVERS=... event-platform node --import tsx src/producer/server.ts
#
# Configuration comes only from environment variables (src/config.ts, env.example).
FROM node:24-bookworm-slim

ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. Production dependencies are
# enough: tsx is one. The Temporal worker's native core ships prebuilt for glibc (bookworm).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Sources stay owned by root and read-only for the process user.
COPY . .

# The node image's unprivileged user (uid 1000).
USER node

EXPOSE 8000 8001

CMD ["node", "--import", "tsx", "src/producer/server.ts"]
