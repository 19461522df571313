# syntax=docker/dockerfile:1
# One image for every Bourse role. The role is chosen at build time with
# `--build-arg ROLE=gateway` (default: embedded) or at run time with the
# environment variable BOURSE_ROLE: embedded | gateway | engine | ledger | market-data | notifier.
# Stages: dependencies (npm ci) -> build (TypeScript to dist/, web UI to web/dist/, dev
# dependencies pruned) -> runtime (slim Node 20, non-root, no compilers, no dev tools).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
COPY web/package.json web/package.json
RUN npm ci --no-audit --no-fund

FROM dependencies AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY web web
RUN npm run build \
 && npm run build --workspace web \
 # tsc emits only JavaScript: copy the other files the code reads at run time (SQL migrations).
 && (cd src && find . -type f ! -name '*.ts' -exec cp --parents {} ../dist/ \;) \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ARG ROLE=embedded
ENV NODE_ENV=production \
    BOURSE_ROLE=${ROLE} \
    HOST=0.0.0.0 \
    PORT=8080 \
    METRICS_HOST=0.0.0.0 \
    BOURSE_HEALTH_PORT=9464 \
    BOURSE_DATA_DIR=/data \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# 8080: REST + WebSocket (gateway, embedded); 9464: health, readiness and metrics.
EXPOSE 8080 9464
STOPSIGNAL SIGTERM
# Cluster roles answer /healthz on BOURSE_HEALTH_PORT (with /readyz and /metrics); the
# embedded process answers the API's ping on PORT and serves /metrics on METRICS_PORT.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const e=process.env;const u=e.BOURSE_ROLE==='embedded'?'http://127.0.0.1:'+e.PORT+'/api/v3/ping':'http://127.0.0.1:'+e.BOURSE_HEALTH_PORT+'/healthz';fetch(u).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Node is PID 1 and handles SIGTERM itself (each role drains and exits); run with --init if
# you add child processes.
CMD ["sh", "-c", "case \"$BOURSE_ROLE\" in \
  embedded) export METRICS_PORT=\"${METRICS_PORT:-9464}\"; exec node dist/main.js ;; \
  engine) exec node dist/services/engine-host/main.js ;; \
  gateway|ledger|market-data|notifier) exec node \"dist/services/$BOURSE_ROLE/main.js\" ;; \
  *) echo \"unknown BOURSE_ROLE '$BOURSE_ROLE' (embedded, gateway, engine, ledger, market-data, notifier)\" >&2; exit 64 ;; \
esac"]
