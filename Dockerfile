# Oversight, production image: gunicorn for the web, the same image for the
# Celery worker and beat (docker-compose.yml chooses the command).
#
#   docker build -t oversight .
#
# Configuration comes only from the environment at run time (docs/operations.md).

# --- Front-end assets: USWDS from npm (axe-core is a test-only devDependency) ---
FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- The application ---
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# WeasyPrint (the review meeting pack's PDF) draws text with pango and harfbuzz.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from pyproject.toml's list pinned by constraints.txt, so
# that this layer is rebuilt only when they change.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt

COPY --from=assets /build/node_modules ./node_modules
# The source as it is, data files included: templates, and the demo's data
# (<app>/demo/*.yaml, which seed_demo reads; .dockerignore must not leave them out).
COPY . .

# Static files are collected at build time, hashed and compressed (WhiteNoise
# serves them). The key here only lets settings load; it is not kept.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-real-key python manage.py collectstatic --noinput -v 0

# A home of its own: gunicorn keeps its control socket in ~/.gunicorn.
RUN useradd --system --uid 10001 --create-home --home-dir /home/oversight oversight
USER oversight

EXPOSE 8000
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto; the health check
# says https itself so the SSL redirect does not answer it, and uses the first
# of ALLOWED_HOSTS as its Host so that Django accepts it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request as u; host = os.environ.get('ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.').replace('*', 'localhost') or 'localhost'; u.urlopen(u.Request('http://127.0.0.1:8000/accounts/login/', headers={'X-Forwarded-Proto': 'https', 'Host': host}), timeout=4)"
# WEB_CONCURRENCY sets the number of gunicorn workers (gunicorn reads it).
CMD ["gunicorn", "oversight.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
