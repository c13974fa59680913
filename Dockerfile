# Trainyard's container image: one image for `trainyard scheduler`, `trainyard api-server`
# and `trainyard standalone`; inline-task workers are child processes of the scheduler
# (dist/executors/worker/worker-main.js), so they run from the same image.
#
#   docker build -t trainyard:0.1.0 .
#   docker run --rm -p 8080:8080 trainyard:0.1.0 api-server
#
# Build stage: install with npm ci, compile the TypeScript (tsc) and the web UI (vite),
# then drop the dev dependencies. Runtime stage: Node 20 slim, a non-root user, and only
# dist/, production node_modules/, bin/, python/ and docs/.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# better-sqlite3 compiles from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here; the native modules
# that need their install scripts are rebuilt explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 esbuild
COPY web/package.json web/package-lock.json web/
RUN npm ci --prefix web --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY web web
RUN npm run build \
 && npm run --prefix web build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
RUN groupadd --gid 10001 trainyard \
 && useradd --uid 10001 --gid 10001 --home-dir /home/trainyard --create-home --shell /usr/sbin/nologin trainyard \
 && mkdir -p /var/lib/trainyard /opt/trainyard/dags \
 && chown -R 10001:10001 /var/lib/trainyard /opt/trainyard/dags
WORKDIR /opt/trainyard
ENV NODE_ENV=production \
    TRAINYARD_HOME=/var/lib/trainyard \
    TRAINYARD_DAGS_FOLDER=/opt/trainyard/dags \
    TRAINYARD_HOST=0.0.0.0
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY python/trainyard_runtime.py python/README.md ./python/
COPY docs ./docs
COPY README.md ./README.md
RUN ln -s /opt/trainyard/bin/trainyard.js /usr/local/bin/trainyard
USER 10001:10001
# 8080: API and web UI; 9464: /metrics of a scheduler (TRAINYARD_METRICS_PORT).
EXPOSE 8080 9464
ENTRYPOINT ["trainyard"]
CMD ["scheduler"]
