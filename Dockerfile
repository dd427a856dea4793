# The production image: web (gunicorn), worker and beat all run from it, with different
# commands (see docker-compose.yml). Settings come from the environment at run time.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 statuspage \
    && useradd --system --uid 10001 --gid statuspage --home-dir /app --shell /usr/sbin/nologin statuspage

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when the lock changes.
# Every package is pinned with its hashes; pip refuses anything that does not match.
COPY requirements/main.txt requirements/main.txt
RUN pip install --require-hashes --no-deps -r requirements/main.txt

COPY . .

# collectstatic imports the settings, which refuse to load without a production-strength
# SECRET_KEY. This throwaway build argument exists only for this step: it is not in the
# image's environment, and the real key comes from the environment at run time.
ARG BUILD_SECRET_KEY=build-only-collectstatic-key-never-used-at-run-time-0123456789
RUN SECRET_KEY="$BUILD_SECRET_KEY" python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var \
    && chown -R statuspage:statuspage /app/var

USER statuspage

EXPOSE 8000

# WEB_CONCURRENCY sets the number of gunicorn workers (gunicorn reads it itself).
CMD ["gunicorn", "statuspage.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-", \
     "--worker-tmp-dir", "/dev/shm", "--graceful-timeout", "20", "--no-control-socket"]
