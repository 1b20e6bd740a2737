# PicoTunnel client image (picotunnel-client). Build from the repository root:
#   docker build -f docker/client.Dockerfile -t picotunnel-client .
# Run it with PICOTUNNEL_SERVER and PICOTUNNEL_TOKEN in the environment (or --env-file), never the token as a flag.
# The image holds only the launcher, the jar and a Java runtime made by jlink, laid out as in the release archive.
FROM eclipse-temurin:21-jdk AS jdk
FROM node:20-bookworm AS build
COPY --from=jdk /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends maven && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl client -am package && bash scripts/dist.sh --stage /opt/picotunnel client

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin picotunnel
COPY --from=build /opt/picotunnel /opt/picotunnel
USER 10001
# The client has no port to ask; it exits on a fatal error (a rejected token: code 3) and reconnects on its own
# otherwise, so the check is that its Java process (PID 1) still runs.
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["/bin/sh", "-c", "kill -0 1"]
ENTRYPOINT ["/opt/picotunnel/bin/picotunnel-client"]
