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
    PYTHONUNBUFFERED=1
USER monitor
WORKDIR /var/lib/monitor
VOLUME ["/var/lib/monitor"]
# Healthy when the config is valid and the database answers.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 CMD ["monitor", "db", "current"]
ENTRYPOINT ["monitor"]
CMD ["run"]
