# PicoTunnel client image. Build from the repository root: docker build -f docker/client.Dockerfile .
# The build needs a JDK 21+, Maven and Node 20 (the web UI is built by the Maven build).
FROM eclipse-temurin:21-jdk AS jdk
FROM node:20-bookworm AS build
COPY --from=jdk /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends maven && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests -pl client -am package

FROM eclipse-temurin:21-jre
RUN useradd --system --shell /usr/sbin/nologin picotunnel
COPY --from=build /src/client/target/picotunnel-client-all.jar /opt/picotunnel/picotunnel-client.jar
USER picotunnel
ENTRYPOINT ["java", "--enable-native-access=ALL-UNNAMED", "-jar", "/opt/picotunnel/picotunnel-client.jar"]
