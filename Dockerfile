# monitor: a small non-root image of the daemon.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir --prefix=/install .

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
