package io.picotunnel.server.acme;

import io.picotunnel.server.tls.PemFiles;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.Ports;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import static org.awaitility.Awaitility.await;

/**
 * Debian's pebble ACME test CA, started as a process for a test: its HTTPS listener uses a certificate of a
 * throw-away test CA, it resolves every name to 127.0.0.1 through {@link LoopbackDnsServer}, and it
 * validates HTTP-01 and TLS-ALPN-01 on the given ports.
 *
 * <p>Pebble takes its own two ports (ACME API, management API) from its configuration and cannot tell which it bound
 * to port 0, so they are picked free and another process may take one before pebble binds it: {@link #start} then
 * throws {@link PortTaken}, and {@link #started} starts it again on other ports.
 */
final class Pebble implements AutoCloseable {

    private static final Path BINARY = Path.of("/usr/bin/pebble");
    /** Starts of {@link #started}: each on new ports, so a second fails only if two ports are taken in a row. */
    private static final int STARTS = 3;

    private final TestCertificates listenerCa = new TestCertificates();
    private final Path workDirectory;
    private final int port;
    private final int managementPort;
    private final Path trustFile;
    private final Path logFile;
    private final HttpClient client;
    private LoopbackDnsServer dns;
    private Process process;
    private boolean frozen;

    /**
     * Prepares pebble in {@code workDirectory} on ports picked free, without starting it: {@link #directory()} and
     * {@link #listenerTrust()} are known from here on, for a server that must have them before pebble can be told
     * its ports; {@link #start} starts it.
     */
    Pebble(Path workDirectory) throws IOException {
        if (!Files.isExecutable(BINARY)) {
            throw new IllegalStateException("pebble is not installed at " + BINARY
                    + ": run scripts/install-deps.sh (Debian package 'pebble')");
        }
        this.workDirectory = workDirectory;
        Files.createDirectories(workDirectory);
        TestCertificates.write(listenerCa.issue("localhost"), workDirectory, "pebble-listener");
        trustFile = workDirectory.resolve("pebble-listener-ca.pem");
        Files.writeString(trustFile, TestCertificates.pem(listenerCa.caCertificate()));
        port = Ports.freePort();
        managementPort = Ports.freePort();
        logFile = workDirectory.resolve("pebble.log");
        client = HttpClient.newBuilder().sslContext(listenerCa.clientContext()).connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /**
     * Pebble in {@code workDirectory}, started, validating HTTP-01 on {@code httpPort} and TLS-ALPN-01 on
     * {@code tlsPort}; started again on other ports of its own when another process took one of them first.
     */
    static Pebble started(Path workDirectory, int httpPort, int tlsPort) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            Pebble pebble = new Pebble(workDirectory);
            try {
                pebble.start(httpPort, tlsPort);
                return pebble;
            } catch (PortTaken e) {
                pebble.close();
                if (attempt == STARTS) {
                    throw e;
                }
            } catch (IOException | InterruptedException | RuntimeException e) {
                pebble.close();
                throw e;
            }
        }
    }

    /**
     * Starts pebble, validating HTTP-01 on {@code httpPort} and TLS-ALPN-01 on {@code tlsPort}, and waits until
     * both its APIs answer. Throws {@link PortTaken} when another process took one of its ports since they were
     * picked.
     */
    void start(int httpPort, int tlsPort) throws IOException, InterruptedException {
        Path config = workDirectory.resolve("pebble-config.json");
        Files.writeString(config, """
                {"pebble": {
                  "listenAddress": "127.0.0.1:%d",
                  "managementListenAddress": "127.0.0.1:%d",
                  "certificate": "%s",
                  "privateKey": "%s",
                  "httpPort": %d,
                  "tlsPort": %d,
                  "ocspResponderURL": "",
                  "externalAccountBindingRequired": false
                }}
                """.formatted(port, managementPort, workDirectory.resolve("pebble-listener.crt"),
                workDirectory.resolve("pebble-listener.key"), httpPort, tlsPort));
        dns = new LoopbackDnsServer();
        ProcessBuilder builder = new ProcessBuilder(BINARY.toString(), "-config", config.toString(),
                "-dnsserver", dns.address())
                .redirectErrorStream(true)
                .redirectOutput(logFile.toFile());
        builder.environment().put("PEBBLE_VA_NOSLEEP", "1");
        builder.environment().put("PEBBLE_WFE_NONCEREJECT", "0");
        builder.environment().put("PEBBLE_AUTHZREUSE", "0");
        process = builder.start();
        // Both APIs: pebble binds the management port on a goroutine of its own and exits when that fails.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> !process.isAlive()
                || get(directory()).statusCode() == 200 && get(rootUrl()).statusCode() == 200);
        if (!process.isAlive()) {
            String log = Files.readString(logFile);
            if (log.contains("address already in use")) {
                throw new PortTaken("pebble could not listen on 127.0.0.1:" + port + " and 127.0.0.1:"
                        + managementPort + ": " + log.strip().lines().reduce((first, last) -> last).orElse(""));
            }
            throw new IllegalStateException("pebble exited: " + log);
        }
    }

    /** Another process took one of pebble's ports between their pick and pebble's start. */
    static final class PortTaken extends IOException {
        PortTaken(String message) {
            super(message);
        }
    }

    /** The ACME directory URL. */
    String directory() {
        return "https://localhost:" + port + "/dir";
    }

    /** The PEM file to trust for the connection to pebble's ACME API. */
    Path listenerTrust() {
        return trustFile;
    }

    /** How many orders pebble has accepted so far, as its log tells. */
    int ordersCreated() throws IOException {
        try (var lines = Files.lines(logFile, java.nio.charset.StandardCharsets.UTF_8)) {
            return (int) lines.filter(line -> line.contains("Added order ")).count();
        }
    }

    /** The PEM root certificate that pebble's issued chains lead to (new on every pebble start). */
    String rootPem() throws IOException, InterruptedException {
        HttpResponse<String> response = get(rootUrl());
        if (response.statusCode() != 200) {
            throw new IOException("pebble's management API answered " + response.statusCode());
        }
        return response.body();
    }

    /** A TLS context that trusts {@link #rootPem()} only: for clients of listeners that serve what pebble issued. */
    SSLContext trustingRoot() throws IOException, InterruptedException, GeneralSecurityException {
        Path file = Files.createTempFile(workDirectory, "root", ".pem");
        Files.writeString(file, rootPem());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("root", PemFiles.readChain(file).getFirst());
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, factory.getTrustManagers(), null);
        return context;
    }

    private String rootUrl() {
        return "https://localhost:" + managementPort + "/roots/0";
    }

    private HttpResponse<String> get(String url) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Stops pebble's process where it is (SIGSTOP): its connections stay open and it answers nothing. */
    void freeze() throws IOException, InterruptedException {
        signal("-STOP");
        frozen = true;
    }

    /** Lets pebble's process go on (SIGCONT) after {@link #freeze}. */
    void thaw() throws IOException, InterruptedException {
        signal("-CONT");
        frozen = false;
    }

    private void signal(String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IOException("kill " + signal + " " + process.pid() + " failed");
        }
    }

    @Override
    public void close() {
        if (frozen) {
            try {
                // a stopped process takes SIGTERM only once it goes on
                thaw();
            } catch (IOException | InterruptedException e) {
                process.destroyForcibly();
            }
        }
        if (process != null) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        client.close();
        if (dns != null) {
            dns.close();
        }
    }
}
