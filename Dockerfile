# mockprom: a mock of the Prometheus HTTP API.
# One process, threads not forked workers, so ingested data and fault state are shared:
# `mockprom serve` answers through its production server (mockprom.serving; keep-alive, gzip,
# a bounded worker pool, a connection cap and an idle timeout, tuned below).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MOCKPROM_HOST=0.0.0.0 \
    MOCKPROM_PORT=9090 \
    MOCKPROM_THREADS=16 \
    MOCKPROM_MAX_CONNECTIONS=512 \
    MOCKPROM_IDLE_TIMEOUT=300

WORKDIR /app
COPY pyproject.toml README.md ./
COPY mockprom ./mockprom
# Bytecode compiled at build time: with PYTHONDONTWRITEBYTECODE nothing is cached at run
# time, and compiling mockprom on every start would cost ~100 ms.
RUN pip install . \
    && python -m compileall -q "$(python -c 'import mockprom, os; print(os.path.dirname(mockprom.__file__))')" \
    && useradd --create-home --uid 10001 mockprom \
    && mkdir -p /scenarios && chown mockprom /scenarios

USER mockprom
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-S", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/-/ready' % os.environ.get('MOCKPROM_PORT', '9090'), timeout=2)"]

# MOCKPROM_SCENARIO (a file or a directory under /scenarios) selects the scenario;
# unset, the embedded default demo is served. SIGTERM (docker stop) stops it cleanly.
# The image listens on 0.0.0.0: set MOCKPROM_CONTROL_TOKEN (docker run -e
# MOCKPROM_CONTROL_TOKEN=s3cret ...) so that the control API (/-/mockprom/) asks for
# "Authorization: Bearer s3cret"; MOCKPROM_ALLOWED_HOSTS (comma-separated) limits the Host
# names it answers. Without a token the server prints a warning at start.
STOPSIGNAL SIGTERM
CMD ["mockprom", "serve"]
