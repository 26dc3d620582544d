# One image for the three services; compose picks the entry point. Node runs their TypeScript itself
# (type stripping, no build step, no loader); the build stage also builds the web app the gateway serves.
# Node 24 LTS, the supported baseline (package.json engines); pinned to a patch release so every
# build gets the same Node until this line changes. Slim rather than distroless: compose's health
# checks and `docker compose exec server node ...` call `node` by name, and a shell helps debugging.
FROM node:24.22.3-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
COPY gen/package.json gen/
COPY platform/package.json platform/
COPY server/package.json server/
COPY consumer/package.json consumer/
COPY gateway/package.json gateway/
COPY web/package.json web/
# The dev stack (local PostgreSQL and Kafka) is a workspace of dev dependencies only: pruned below.
COPY devstack/package.json devstack/
# No dependency install scripts: nothing here needs one. patches/ fixes postgres.js, connect-es and
# kafkajs bugs and spares pdfkit work it repeats per document (docs/decisions/0031-0033, 0043).
RUN npm ci --ignore-scripts --no-audit --no-fund && npx patch-package
COPY gen ./gen
COPY platform ./platform
COPY server ./server
COPY consumer ./consumer
COPY gateway ./gateway
COPY web ./web
COPY scripts/fill-compile-cache.sh ./scripts/
RUN npm run build -w web && npm prune --omit=dev --no-audit --no-fund

FROM node:24.22.3-bookworm-slim AS runtime
# V8's young generation as npm start sizes it (scripts/service-process.ts, serviceNodeOptions):
# left to Node, a pod's memory limit shrinks it to a few MiB and every call costs more CPU.
# Node's compile cache, filled below: the services start without loading Node's TypeScript stripper
# (about 20 MB of RSS each) and without compiling their modules again (docs/decisions/0038).
ENV NODE_ENV=production NODE_OPTIONS="--max-semi-space-size=16" NODE_COMPILE_CACHE=/app/.compile-cache
WORKDIR /app
# Root-owned and read-only for the service user.
COPY --from=build /app ./
# Node keeps the cache per user, so the service user fills it; then it is root's, read-only like the
# code: Node reads a cache it cannot write to.
RUN install -d -o node -g node .compile-cache
USER node
RUN bash scripts/fill-compile-cache.sh
USER root
RUN chown -R root:root .compile-cache
USER node
CMD ["node", "server/src/main.ts"]
