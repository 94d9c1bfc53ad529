# syntax=docker/dockerfile:1
# The image the manifests in k8s/ run: `docker build -t nightshift:latest .`
# Its entrypoint is the built CLI, so a pod's args are an etl command: ["run", "--jobs", "a,b"].
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS base
RUN npm install -g pnpm@10 && npm cache clean --force
WORKDIR /app

# every dependency, then the bundled CLI and the compiled built-in jobs (dist/)
FROM base AS build
COPY package.json pnpm-lock.yaml ./
RUN pnpm install --frozen-lockfile --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY jobs ./jobs
COPY migrations ./migrations
RUN pnpm build

# the runtime dependencies only
FROM base AS prod-deps
COPY package.json pnpm-lock.yaml ./
RUN pnpm install --prod --frozen-lockfile --ignore-scripts

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production \
    ETL_DATA_DIR=/var/lib/nightshift
WORKDIR /opt/nightshift
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
# read at run time by `etl demo`
COPY src/demo/source-schema.sql ./src/demo/source-schema.sql
# the embedded database (only without WAREHOUSE_DATABASE_URL) needs a folder it may write
RUN mkdir -p /var/lib/nightshift && chown node:node /var/lib/nightshift
# V8's code cache of the CLI, one file per command, written by its first run (bin/etl.js)
RUN mkdir -p dist/.v8-cache && chown node:node dist/.v8-cache
# uid 1000, as the manifests' runAsUser
USER node
ENTRYPOINT ["node", "/opt/nightshift/bin/etl.js"]
CMD ["--help"]
