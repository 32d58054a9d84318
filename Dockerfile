# visor-bridge: one image for `serve`, `scheduler` and `db upgrade` (issue 19).
# UNTESTED: there is no container engine on the machines this was built on; the same topology
# runs without containers in the whole-system load test (docs/operations.md, "Containers").
#
#   docker build -t visor-bridge .
#   docker run --read-only --tmpfs /tmp -e BRIDGE_... visor-bridge serve --host 0.0.0.0

# -- 1. the web assets (GOV.UK Frontend + MoJ Frontend, compiled by sass) -----------------------
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ frontend/
RUN mkdir -p bridge/web/static && node frontend/build.mjs

# -- 2. a wheel of the bridge and its dependencies, in a venv --------------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bridge/ bridge/
COPY mappings/ mappings/
COPY --from=assets /src/bridge/web/static/assets/ bridge/web/static/assets/
# bridge/_mappings is a symlink to mappings/ in the repository: the wheel carries a copy.
RUN python -m venv /opt/bridge && /opt/bridge/bin/pip install --no-compile . \
    && /opt/bridge/bin/python -m compileall -q /opt/bridge/lib

# -- 3. the runtime: no compilers, no build tools, not root ----------------------------------
FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --home-dir /nonexistent --shell /usr/sbin/nologin bridge
COPY --from=build /opt/bridge /opt/bridge
ENV PATH=/opt/bridge/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BRIDGE_ENVIRONMENT=production
# The root filesystem can be read-only: nothing is written but the database (PostgreSQL, or a
# SQLite file on a mounted volume), the anchor file (a volume) and /tmp (a tmpfs).
USER 10001:10001
WORKDIR /var/lib/bridge
EXPOSE 8000 9464
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["visor-bridge"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
