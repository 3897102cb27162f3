# airlock: one image for the API, the worker and the CLI.
# Node 24 LTS. Build stage: better-sqlite3 12 (the Node 20 driver) compiles at install; on Node 24 airlock loads 13,
# prebuilt on Node-API (libs/database/src/sqlite-driver.ts).
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ libssl-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
# the CLI's API client types are generated from the OpenAPI document at build time (scripts/gen-api-types.js)
COPY scripts/gen-api-types.js scripts/gen-api-types.js
# the Node-API addons: the bundles' AES over the system's libcrypto, and the import's volumes dropped from the page cache as read (scripts/build-native.sh builds them into dist/native)
COPY scripts/build-native.sh scripts/build-native.sh
COPY native native
COPY docs/openapi.json docs/openapi.json
RUN npm ci --no-audit --no-fund --ignore-scripts=false && npm run build && npm prune --omit=dev

# Runtime stage: no compiler, no sources, an unprivileged user.
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tini libssl3 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/airlock airlock && mkdir -p /var/lib/airlock /etc/airlock && chown airlock /var/lib/airlock
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
COPY scripts/register-aliases.js scripts/register-aliases.js
COPY migrations migrations
USER airlock
ENV AIRLOCK_CONFIG=/etc/airlock/airlock.yaml NODE_ENV=production
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/airlock.js"]
CMD ["serve"]
