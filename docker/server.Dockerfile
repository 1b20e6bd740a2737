# PicoTunnel server image (picotunnel-server). Build from the repository root:
#   docker build -f docker/server.Dockerfile -t picotunnel-server .
# The build stage needs a JDK 21+, Maven and Node 20 (the web UI is built by the Maven build); the image itself holds
# only the launcher, the jar and a Java runtime made by jlink, laid out as in the release archive (scripts/dist.sh).
FROM eclipse-temurin:21-jdk AS jdk
FROM node:20-bookworm AS build
COPY --from=jdk /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends maven && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl server -am package && bash scripts/dist.sh --stage /opt/picotunnel server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin picotunnel \
    && mkdir -p /data && chown picotunnel /data && chmod 0700 /data
COPY --from=build /opt/picotunnel /opt/picotunnel
COPY docker/server-healthcheck.sh /opt/picotunnel/bin/picotunnel-server-healthcheck
# Non-root; Docker lets containers bind ports below 1024 without root (net.ipv4.ip_unprivileged_port_start=0).
USER 10001
ENV PICOTUNNEL_DATA_DIR=/data
# picotunnel-server by name, for the backup the README shows: docker compose exec server picotunnel-server backup ...
ENV PATH=/opt/picotunnel/bin:$PATH
VOLUME /data
EXPOSE 8080 8443 80 443
# /health of the management API at the container's --listen-addr, else PICOTUNNEL_LISTEN_ADDR (default :8080;
# every interface is asked on loopback).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/bin/sh", "/opt/picotunnel/bin/picotunnel-server-healthcheck"]
ENTRYPOINT ["/opt/picotunnel/bin/picotunnel-server"]
