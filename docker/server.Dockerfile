# PicoTunnel server image. Build from the repository root: docker build -f docker/server.Dockerfile .
# The build needs a JDK 21+, Maven and Node 20 (the web UI is built by the Maven build).
FROM eclipse-temurin:21-jdk AS jdk
FROM node:20-bookworm AS build
COPY --from=jdk /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends maven && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl server -am package

FROM eclipse-temurin:21-jre
RUN useradd --system --home /data --shell /usr/sbin/nologin picotunnel \
    && mkdir -p /data && chown picotunnel /data && chmod 0700 /data
COPY --from=build /src/server/target/picotunnel-server-all.jar /opt/picotunnel/picotunnel-server.jar
USER picotunnel
ENV PICOTUNNEL_DATA_DIR=/data
VOLUME /data
EXPOSE 8080 8443 80 443
ENTRYPOINT ["java", "--enable-native-access=ALL-UNNAMED", "-jar", "/opt/picotunnel/picotunnel-server.jar"]
