# One image for the three services; compose picks the entry point. Services run their TypeScript
# through tsx (no build step), so the runtime stage needs the sources and production modules only.
FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
COPY gen/package.json gen/
COPY platform/package.json platform/
COPY server/package.json server/
COPY consumer/package.json consumer/
COPY gateway/package.json gateway/
# No dependency install scripts: nothing the services run needs one (embedded PostgreSQL is for
# local runs only). patches/ fixes a postgres.js crash on a dropped connection (see the README).
RUN npm ci --ignore-scripts --no-audit --no-fund && npx patch-package && npm prune --omit=dev --no-audit --no-fund
COPY gen ./gen
COPY platform ./platform
COPY server ./server
COPY consumer ./consumer
COPY gateway ./gateway

FROM node:20.19-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Root-owned and read-only for the service user.
COPY --from=deps /app ./
USER node
CMD ["node", "--import", "tsx", "server/src/main.ts"]
