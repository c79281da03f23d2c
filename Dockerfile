# peacetalks application image.
# Default command: `peacetalks serve`. The same image runs `peacetalks db upgrade` and
# `peacetalks seed` (see the `migrate` service in docker-compose.yml).
#
#   docker build -t peacetalks .

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# WeasyPrint (PDF briefings) loads Pango, HarfBuzz and fontconfig when it is imported. These are
# the runtime libraries WeasyPrint documents for Debian when it is installed from pip wheels
# (libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0), plus HarfBuzz and fontconfig named
# explicitly, and the DejaVu fonts so text renders in a slim image that ships no fonts.
# Not version-pinned: Debian point releases replace old versions, which would break the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libfontconfig1 \
        fonts-dejavu-core \
        fonts-dejavu-extra \
    && rm -rf /var/lib/apt/lists/*

# Unprivileged user that runs the app, with a fixed uid/gid (10001) so that file ownership on
# mounted volumes is predictable. It gets a home directory: fontconfig (WeasyPrint) caches in
# ~/.cache.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app

# The app finds migrations/, templates/, static/ and seeds/ beside app/, so the source tree stays
# in /app and the package is installed from it in editable mode.
WORKDIR /app

# Dependencies first, read from pyproject.toml alone, so that editing the code does not reinstall
# them. (The editable install itself needs the whole tree, README.md included, so it comes after.)
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project'].get('dependencies', []); open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# The code stays owned by root (read-only to the app). var/ is the one folder the app may write:
# the embedded SQLite database when DATABASE_URL is unset (e.g. a bare `docker run`).
RUN pip install -e . \
    && mkdir -p var \
    && chown app:app var

USER app

EXPOSE 8000

# No curl in the slim image: probe /healthz with the standard library. Any error, including the
# 503 the app returns when the database is unreachable, exits 1 (unhealthy). Plain HTTP from
# inside the container is answered even with HTTPS_ONLY=true (which marks cookies Secure and
# sends HSTS; it never redirects), so the probe needs no forwarded headers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["peacetalks", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
