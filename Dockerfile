# monitor: a small non-root image of the daemon.
FROM python:3.11-slim AS build
# A C compiler, so that the install compiles the rule engine with mypyc (setup.py);
# only this stage has it: the image keeps the built extensions, not the compiler.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY monitor ./monitor
# The build fails here rather than ship an image whose rule engine quietly stayed pure Python.
RUN pip install --no-cache-dir --prefix=/install . \
    && cd / && PYTHONPATH=/install/lib/python3.11/site-packages python -c \
       "import sys; from monitor.rules import native; c = native.choose(); print(c); sys.exit(not c.startswith('compiled'))"

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/monitor --create-home monitor
COPY --from=build /install /usr/local
COPY config /config
ENV MONITOR_CONFIG=/config/monitor.yaml \
    MONITOR_DATABASE_URL=sqlite:////var/lib/monitor/monitor.db \
    MONITOR_OPS_HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
USER monitor
WORKDIR /var/lib/monitor
VOLUME ["/var/lib/monitor"]
EXPOSE 9464
# Healthy while the daemon's loop answers on the ops endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status != 200)"]
ENTRYPOINT ["monitor"]
CMD ["run"]
