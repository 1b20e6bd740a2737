package io.picotunnel.server.monitor;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.server.api.ApiServer;
import io.picotunnel.server.config.Setting;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.testbed.Testbed;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * {@code GET /api/checks} is streamed a batch of tunnels at a time: a database read that fails part-way must never
 * give a client a whole-looking answer with tunnels missing. A real server on loopback, a real SQLite file, a client
 * that reads the HTTP framing itself (chunks, their end). The failure is a real one: another connection to the file
 * (an operator's {@code sqlite3} shell) renames the checks table, so the server's next read of checks fails ("no such
 * table"). Holding a lock does not serve here: with the WAL journal a reader is never kept waiting by a writer, and the
 * server's own connections keep the shared lock of the file, so another connection cannot take the exclusive lock
 * ({@code PRAGMA locking_mode=EXCLUSIVE} then a write waits, and fails with SQLITE_BUSY itself).
 */
class StreamedChecksFailureTest {

    /** Strict: a body with anything after its first value (an error after an array) is not JSON. */
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** A long reason per check, so that the first batch of tunnels is far more than the socket buffers hold. */
    private static final String LONG_ERROR = "HTTP status 502: " + "the target answered with a long page ".repeat(50);

    @TempDir
    Path dataDir;

    private Testbed quietServer() {
        return new Testbed(dataDir, Map.of(Setting.CHECK_INTERVAL, "1h"));
    }

    /** Creates {@code tunnels} tunnels with {@code checksEach} checks each (down, with a long error); their ids. */
    private static List<String> seed(Testbed testbed, int tunnels, int checksEach) {
        List<String> ids = new ArrayList<>();
        List<Check> history = new ArrayList<>();
        Instant start = Instant.now().minus(Duration.ofHours(2));
        for (int t = 0; t < tunnels; t++) {
            String id = testbed.createTunnel("t" + t).get("id").asText();
            ids.add(id);
            for (int i = 0; i < checksEach; i++) {
                history.add(Check.down(Subject.tunnel(id), LONG_ERROR + i, start.plusSeconds(i)));
            }
        }
        testbed.server().checks().record(history, List.of());
        return ids;
    }

    /**
     * Two batches of tunnels' checks: some 120 KB of JSON in the first, past what is held back (gzipped, a few KB),
     * and in the second a check the server cannot read.
     */
    private void seedWithAReadFailingPast64KiB(Testbed testbed) throws SQLException {
        List<String> ids = seed(testbed, CheckStore.TUNNELS_PER_BATCH + 5, 0);
        List<Check> first = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            first.add(Check.down(Subject.tunnel(ids.getFirst()), LONG_ERROR, Instant.now().minusSeconds(i)));
        }
        testbed.server().checks().record(first, List.of());
        insertUnreadableCheck(ids.getLast());
    }

    /** Another connection to the database file renames a table, as a {@code sqlite3} shell would. */
    private void renameTable(String from, String to) throws SQLException {
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             Statement statement = other.createStatement()) {
            statement.execute("PRAGMA busy_timeout = 5000");
            statement.execute("ALTER TABLE " + from + " RENAME TO " + to);
        }
    }

    /**
     * Another program writes a check against the table's rules (a status the server does not know): the server's
     * read of it fails.
     */
    private void insertUnreadableCheck(String tunnelId) throws SQLException {
        try (Connection other = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve(Store.DATABASE_FILE));
             Statement statement = other.createStatement()) {
            statement.execute("PRAGMA busy_timeout = 5000");
            statement.execute("PRAGMA ignore_check_constraints = ON");
            statement.executeUpdate("INSERT INTO checks (tunnel_id, service_id, status, created_at) VALUES ('"
                    + tunnelId + "', NULL, 'unknown', 0)");
        }
    }

    /**
     * The read fails before a byte of the answer was sent (Jetty holds the first bytes back): the client gets the
     * API's JSON error, not a 200 with an empty (or cut) array that looks whole.
     */
    @Test
    void aFailedReadBeforeAnythingWasSentIsAJsonErrorNotAnArray() throws Exception {
        try (Testbed testbed = quietServer()) {
            seed(testbed, CheckStore.TUNNELS_PER_BATCH + 5, 2);
            renameTable("checks", "checks_away");

            try (Client client = new Client(testbed.server().apiPort(), 0)) {
                client.request("/api/checks?limit=100");
                Client.Head head = client.head();
                byte[] body = client.body(head);

                assertThat(head.status()).as("%s", new String(body, StandardCharsets.UTF_8)).isEqualTo(500);
                assertThat(head.header("content-type")).startsWith("application/json");
                assertThat(new String(body, StandardCharsets.UTF_8)).as("an error alone").startsWith("{\"error\":");
                JsonNode error = MAPPER.readTree(body);
                assertThat(error.get("error").asText()).isEqualTo("internal_error");
                assertThat(error.has("message")).isTrue();
            }

            renameTable("checks_away", "checks");
            assertThat(testbed.api().get("/api/checks?limit=100").json()).hasSize(2 * (CheckStore.TUNNELS_PER_BATCH + 5));
        }
    }

    /**
     * The read of the second batch of tunnels fails while what the first wrote is still held back (under 64 KiB):
     * that part is dropped, and the client gets the JSON error alone. The failure: a row another program wrote
     * against the table's rules (a status the server does not know), which the server cannot read.
     */
    @Test
    void aFailedReadOfALaterBatchBeforeAnythingWasSentIsAJsonErrorAlone() throws Exception {
        try (Testbed testbed = quietServer()) {
            List<String> ids = seed(testbed, CheckStore.TUNNELS_PER_BATCH + 5, 0);
            List<Check> first = new ArrayList<>();
            for (int i = 0; i < 10; i++) { // some 20 KB: past Jackson's buffer, within Jetty's and what is held back
                first.add(Check.down(Subject.tunnel(ids.getFirst()), LONG_ERROR, Instant.now().minusSeconds(i)));
            }
            testbed.server().checks().record(first, List.of());
            insertUnreadableCheck(ids.getLast());

            try (Client client = new Client(testbed.server().apiPort(), 0)) {
                client.request("/api/checks?limit=100");
                Client.Head head = client.head();
                byte[] body = client.body(head);

                assertThat(head.status()).as("%s", new String(body, StandardCharsets.UTF_8)).isEqualTo(500);
                assertThat(new String(body, StandardCharsets.UTF_8)).as("an error alone").startsWith("{\"error\":");
                assertThat(MAPPER.readTree(body).get("error").asText()).isEqualTo("internal_error");
            }
        }
    }

    /**
     * The read of a later batch fails once the first bytes were sent: the answer cannot be taken back, so it ends
     * without its closing {@code ]} and without the last chunk of its HTTP framing, and the client's read fails
     * instead of yielding a whole-looking array with the later tunnels missing.
     */
    @Test
    void aFailedReadAfterTheFirstBytesWereSentCutsTheAnswerSoNoClientTakesItAsWhole() throws Exception {
        try (Testbed testbed = quietServer()) {
            seed(testbed, CheckStore.TUNNELS_PER_BATCH + 5, 100);

            try (Logs logs = new Logs(); Client client = new Client(testbed.server().apiPort(), 16 * 1024)) {
                client.request("/api/checks?limit=100");
                Client.Head head = client.head();
                assertThat(head.status()).isEqualTo(200);
                assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
                // The first batch (50 tunnels of 100 checks, over 10 MB) is being written and the client reads no
                // further for now: the server waits in its write of the first batch, before its read of the second.
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                client.chunk(body);
                assertThat(body.toString(StandardCharsets.UTF_8)).startsWith("[{");

                renameTable("checks", "checks_away");

                IOException cut = null;
                try {
                    for (int chunks = 0; client.chunk(body); chunks++) {
                        assertThat(chunks).as("chunks").isLessThan(1_000_000);
                    }
                } catch (IOException e) {
                    cut = e;
                }
                assertThat(cut).as("the answer ended with its last chunk, after %d bytes ending %s", body.size(),
                        tail(body)).isNotNull();
                assertThat(body.toString(StandardCharsets.UTF_8)).as("no closing ] (nor any, checks hold no array)")
                        .doesNotContain("]");
                assertThatThrownBy(() -> MAPPER.readTree(body.toByteArray())).as("a whole JSON array")
                        .isInstanceOf(IOException.class);
                logs.awaitOnlyTheCut();
            }

            renameTable("checks_away", "checks");
            assertThat(testbed.api().get("/api/checks?limit=100").json()).hasSize(100 * (CheckStore.TUNNELS_PER_BATCH + 5));
        }
    }

    /**
     * To a client that takes gzip (every browser), past the first 64 KiB of JSON little has left Javalin's gzip stream
     * (repetitive checks: a few KiB), and Jetty would commit only once it holds 32 KiB of compressed bytes. A read
     * that fails then still cuts the answer: its 200 and Content-Encoding were sent, the gzip stream and the chunked
     * body end unfinished; never a 500 whose unzipped body is the part of the array and then the error.
     */
    @Test
    void aFailedReadPastTheFirst64KiBOfAGzippedAnswerCutsItThoughLittleWasCompressedYet() throws Exception {
        try (Testbed testbed = quietServer()) {
            seedWithAReadFailingPast64KiB(testbed);

            try (Logs logs = new Logs(); Client client = new Client(testbed.server().apiPort(), 0)) {
                client.request("/api/checks?limit=100", "Accept-Encoding: gzip\r\n");
                Client.Head head = client.head();
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                IOException cut = client.bodyAsFarAsItGoes(head, body);

                String seen = head.status() + ", unzipped: " + unzippedStart(body.toByteArray());
                assertThat(head.status()).as("an answer begun, so a 200: %s", seen).isEqualTo(200);
                assertThat(head.header("content-encoding")).isEqualTo("gzip");
                assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
                assertThat(cut).as("the answer ended with its last chunk: %s", seen).isNotNull();
                assertThatThrownBy(() -> {
                    try (InputStream unzipped = new GZIPInputStream(new ByteArrayInputStream(body.toByteArray()))) {
                        MAPPER.readTree(unzipped);
                    }
                }).as("a whole gzip stream of a whole JSON array").isInstanceOf(IOException.class);
                logs.awaitOnlyTheCut();
            }
        }
    }

    /**
     * HTTP/1.0 has no chunks: the answer's end is the connection's. A read that fails past the first 64 KiB closes the
     * connection as a whole answer would end, so for such a client only the JSON, left open, tells the cut; as
     * docs/monitoring.md says, no JSON parser takes it for whole.
     */
    @Test
    void aFailedReadPastTheFirst64KiBOfAnHttp10AnswerEndsWithTheConnectionAndTheJsonLeftOpen() throws Exception {
        try (Testbed testbed = quietServer()) {
            seedWithAReadFailingPast64KiB(testbed);

            try (Logs logs = new Logs(); Client client = new Client(testbed.server().apiPort(), 0)) {
                client.request("GET", "/api/checks?limit=100", "HTTP/1.0", "");
                Client.Head head = client.head();
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                IOException failed = client.bodyAsFarAsItGoes(head, body);

                assertThat(failed).as("the connection's end").isNull();
                assertThat(head.status()).isEqualTo(200);
                assertThat(head.header("transfer-encoding")).as("no chunks in HTTP/1.0").isNull();
                assertThat(head.header("content-length")).as("its length is not known when it is begun").isNull();
                assertThat(body.toString(StandardCharsets.UTF_8)).startsWith("[{").as("no closing ]")
                        .doesNotContain("]");
                assertThatThrownBy(() -> MAPPER.readTree(body.toByteArray())).as("a whole JSON array")
                        .isInstanceOf(IOException.class);
                logs.awaitOnlyTheCut();
            }
        }
    }

    /** Without a failure, an HTTP/1.0 client gets the whole answer of several batches, ended by the close. */
    @Test
    void anHttp10AnswerOfSeveralBatchesIsWholeAndEndsWithTheConnection() throws Exception {
        try (Testbed testbed = quietServer()) {
            int tunnels = 2 * CheckStore.TUNNELS_PER_BATCH + 3;
            List<String> ids = seed(testbed, tunnels, 20);

            String tunnelChecks = "/api/tunnels/" + ids.getLast() + "/checks?limit=1000";
            for (String path : List.of("/api/checks?limit=100", tunnelChecks)) {
                try (Client client = new Client(testbed.server().apiPort(), 16 * 1024)) {
                    client.request("GET", path, "HTTP/1.0", "");
                    Client.Head head = client.head();
                    byte[] body = client.body(head);

                    assertThat(head.status()).isEqualTo(200);
                    assertThat(head.header("transfer-encoding")).as("no chunks in HTTP/1.0").isNull();
                    JsonNode checks = MAPPER.readTree(body);
                    assertThat(checks).as(path).hasSize(path.startsWith("/api/checks") ? 20 * tunnels : 20);
                    assertThat(checks.get(checks.size() - 1).get("tunnel_id").asText()).isEqualTo(ids.getLast());
                }
            }
        }
    }

    /**
     * HEAD answers the status the GET would have: the whole answer is made (and dropped) before the status is sent,
     * so a read that fails past the first 64 KiB is the JSON error's 500, where the GET can only cut its 200. The HEAD
     * answer ends with its headers, and the connection takes the next request.
     */
    @Test
    void aHeadWhoseReadFailsPastTheFirst64KiBIsTheErrorTheGetCouldNoLongerAnswer() throws Exception {
        try (Testbed testbed = quietServer()) {
            seedWithAReadFailingPast64KiB(testbed);

            try (Client client = new Client(testbed.server().apiPort(), 0)) {
                for (String headers : List.of("", "Accept-Encoding: gzip\r\n")) {
                    client.request("HEAD", "/api/checks?limit=100", headers);
                    Client.Head head = client.head();

                    assertThat(head.status()).as("HEAD %s%s", headers, head.headers()).isEqualTo(500);
                    assertThat(head.header("content-type")).startsWith("application/json");
                }
                client.request("/health");
                assertThat(client.head().status()).as("the next request on the connection").isEqualTo(200);
            }
        }
    }

    /**
     * Without a failure, HEAD on a large answer is the GET's 200 with the GET's headers (chunked; gzip to a client that
     * takes it), without a byte of the body: the next answer on the connection follows its headers.
     */
    @Test
    void aHeadOnALargeAnswerHasTheHeadersOfTheGetWithoutTheBody() throws Exception {
        try (Testbed testbed = quietServer()) {
            seed(testbed, CheckStore.TUNNELS_PER_BATCH + 5, 20);

            try (Client client = new Client(testbed.server().apiPort(), 0)) {
                for (String headers : List.of("", "Accept-Encoding: gzip\r\n")) {
                    client.request("/api/checks?limit=100", headers);
                    Client.Head get = client.head();
                    client.body(get);
                    client.request("HEAD", "/api/checks?limit=100", headers);
                    Client.Head head = client.head();

                    assertThat(head.status()).isEqualTo(200);
                    for (String name : List.of("content-type", "content-length", "transfer-encoding", "content-encoding")) {
                        assertThat(head.header(name)).as("%s of HEAD %s", name, headers).isEqualTo(get.header(name));
                    }
                    client.request("/health");
                    Client.Head next = client.head();
                    assertThat(next.status()).as("the next answer on the connection").isEqualTo(200);
                    assertThat(MAPPER.readTree(client.body(next)).get("status").asText()).isEqualTo("ok");
                }
            }
        }
    }

    /**
     * A client that goes away in the middle of an answer (a browser tab closed) is not the server's failure: neither a
     * warning nor an error in its log, plain or gzipped.
     */
    @Test
    void aClientThatLeavesMidAnswerIsNeitherAWarningNorAnError() throws Exception {
        leaveMidAnswer("");
    }

    @Test
    void aClientThatLeavesMidGzippedAnswerIsNeitherAWarningNorAnError() throws Exception {
        leaveMidAnswer("Accept-Encoding: gzip\r\n");
    }

    private void leaveMidAnswer(String headers) throws Exception {
        try (Testbed testbed = quietServer()) {
            // Random text, so that even gzipped the first batch (50 tunnels of 100 checks of 4 KB, 20 MB of JSON) is
            // far more than the socket buffers hold: the server is still writing when the client leaves.
            Random random = new Random(42);
            List<Check> history = new ArrayList<>();
            Instant start = Instant.now().minus(Duration.ofHours(2));
            for (int t = 0; t < CheckStore.TUNNELS_PER_BATCH + 5; t++) {
                String id = testbed.createTunnel("t" + t).get("id").asText();
                for (int i = 0; i < 100; i++) {
                    byte[] noise = new byte[2000];
                    random.nextBytes(noise);
                    history.add(Check.down(Subject.tunnel(id), HexFormat.of().formatHex(noise), start.plusSeconds(i)));
                }
            }
            testbed.server().checks().record(history, List.of());

            try (Logs logs = new Logs()) {
                try (Client client = new Client(testbed.server().apiPort(), 16 * 1024)) {
                    client.request("/api/checks?limit=100", headers);
                    Client.Head head = client.head();
                    assertThat(head.status()).isEqualTo(200);
                    assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
                    client.chunk(new ByteArrayOutputStream());
                } // closed with the rest of the answer unread: a reset
                logs.awaitOnly();
            }
            assertThat(testbed.api().get("/api/checks?limit=1").json()).hasSize(CheckStore.TUNNELS_PER_BATCH + 5);
        }
    }

    /**
     * Without a failure, the answer of several batches is whole: every check, its closing ] and the last chunk; and
     * the same, gzipped, to a client that takes gzip.
     */
    @Test
    void anAnswerOfSeveralBatchesIsWholeAndEndsWithItsLastChunk() throws Exception {
        try (Testbed testbed = quietServer()) {
            int tunnels = 2 * CheckStore.TUNNELS_PER_BATCH + 3;
            List<String> ids = seed(testbed, tunnels, 20);

            try (Client client = new Client(testbed.server().apiPort(), 16 * 1024)) {
                client.request("/api/checks?limit=100");
                Client.Head head = client.head();
                byte[] body = client.body(head);

                assertThat(head.status()).isEqualTo(200);
                assertThat(head.header("transfer-encoding")).isEqualTo("chunked");
                JsonNode checks = MAPPER.readTree(body);
                assertThat(checks).hasSize(20 * tunnels);
                assertThat(checks.get(0).get("tunnel_id").asText()).isEqualTo(ids.getFirst());
                assertThat(checks.get(20 * tunnels - 1).get("tunnel_id").asText()).isEqualTo(ids.getLast());

                // Compressed for a client that takes gzip, as any large answer: the same array.
                client.request("/api/checks?limit=100", "Accept-Encoding: gzip\r\n");
                Client.Head gzipped = client.head();
                assertThat(gzipped.header("content-encoding")).isEqualTo("gzip");
                try (InputStream unzipped = new GZIPInputStream(new ByteArrayInputStream(client.body(gzipped)))) {
                    assertThat(MAPPER.readTree(unzipped)).isEqualTo(checks);
                }
            }
        }
    }

    /** The start of what {@code gzipped} unzips to, as far as it goes. */
    private static String unzippedStart(byte[] gzipped) {
        ByteArrayOutputStream unzipped = new ByteArrayOutputStream();
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped))) {
            in.transferTo(unzipped);
        } catch (IOException e) {
            // as far as it goes
        }
        String text = unzipped.toString(StandardCharsets.UTF_8);
        return text.substring(0, Math.min(text.length(), 60));
    }

    /**
     * The warnings and errors of every logger (the server's, Jetty's, Javalin's) while a request is handled, and the
     * API's request log, whose line for a request is written once it was handled.
     */
    private static final class Logs implements AutoCloseable {
        private final LogCapture everyLogger = new LogCapture(Logger.ROOT_LOGGER_NAME, null);
        private final LogCapture requests = new LogCapture(ApiServer.class, Level.DEBUG);

        /**
         * Awaits the end of the request to {@code /api/checks}, then that for a while nothing more is logged than
         * {@code expected}: the start of each warning or error, with its level, in order.
         */
        void awaitOnly(String... expected) {
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(requests.messages(Level.DEBUG)).as("the request log").anyMatch(line ->
                        line.startsWith("GET /api/checks "));
                List<String> logged = everyLogger.events().stream()
                        .filter(event -> event.getLevel().isGreaterOrEqual(Level.WARN)).map(Logs::line).toList();
                assertThat(logged).hasSize(expected.length);
                for (int i = 0; i < expected.length; i++) {
                    assertThat(logged.get(i)).as("%s", logged).startsWith(expected[i]);
                }
            });
        }

        /** Only the error of the failed read, and the warning that the answer was cut for it. */
        void awaitOnlyTheCut() {
            awaitOnly("ERROR GET /api/checks failed",
                    "WARN GET /api/checks: the answer had begun, so it is cut short");
        }

        private static String line(ILoggingEvent event) {
            return event.getLevel() + " " + event.getFormattedMessage() + (event.getThrowableProxy() == null ? ""
                    : " (" + event.getThrowableProxy().getClassName() + ": " + event.getThrowableProxy().getMessage()
                    + ", logged by " + event.getLoggerName() + ")");
        }

        @Override
        public void close() {
            requests.close();
            everyLogger.close();
        }
    }

    private static String tail(ByteArrayOutputStream body) {
        String text = body.toString(StandardCharsets.UTF_8);
        return text.substring(Math.max(0, text.length() - 40));
    }

    /** One HTTP/1.1 request on a connection of its own, its answer read by hand: the status, headers, each chunk. */
    private static final class Client implements AutoCloseable {

        record Head(int status, Map<String, String> headers) {
            String header(String name) {
                return headers.get(name.toLowerCase(Locale.ROOT));
            }
        }

        private final Socket socket = new Socket();
        private final int port;
        private final InputStream in;

        /** {@code receiveBuffer} bytes of receive buffer when positive: a client that takes little at a time. */
        Client(int port, int receiveBuffer) throws IOException {
            this.port = port;
            if (receiveBuffer > 0) {
                socket.setReceiveBufferSize(receiveBuffer); // before the connect, so that the window is small from the start
            }
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            socket.setSoTimeout(20_000);
            in = socket.getInputStream();
        }

        void request(String path) throws IOException {
            request(path, "");
        }

        /** {@code headers}: more header lines, each ending with CRLF. */
        void request(String path, String headers) throws IOException {
            request("GET", path, headers);
        }

        void request(String method, String path, String headers) throws IOException {
            request(method, path, "HTTP/1.1", headers);
        }

        void request(String method, String path, String version, String headers) throws IOException {
            socket.getOutputStream().write((method + " " + path + " " + version + "\r\nHost: 127.0.0.1:" + port
                    + "\r\nAuthorization: Bearer " + Testbed.ADMIN_TOKEN + "\r\n" + headers + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
        }

        Head head() throws IOException {
            int status = Integer.parseInt(line().split(" ")[1]);
            Map<String, String> headers = new LinkedHashMap<>();
            for (String line = line(); !line.isEmpty(); line = line()) {
                int colon = line.indexOf(':');
                headers.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), line.substring(colon + 1).strip());
            }
            return new Head(status, headers);
        }

        /** The whole body: by Content-Length, or every chunk to the last. */
        byte[] body(Head head) throws IOException {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            IOException cut = bodyAsFarAsItGoes(head, body);
            if (cut != null) {
                throw cut;
            }
            return body.toByteArray();
        }

        /** Reads the body into {@code body} as far as it goes: null when it ended whole, else what ended it. */
        IOException bodyAsFarAsItGoes(Head head, ByteArrayOutputStream body) {
            try {
                String length = head.header("content-length");
                if (length != null) {
                    byte[] read = in.readNBytes(Integer.parseInt(length));
                    body.write(read);
                    if (read.length < Integer.parseInt(length)) {
                        throw new EOFException("the body ended after " + read.length + " of " + length + " bytes");
                    }
                    return null;
                }
                if (!"chunked".equals(head.header("transfer-encoding"))) {
                    in.transferTo(body); // close-delimited: its end is the connection's
                    return null;
                }
                for (int chunks = 0; chunk(body); chunks++) {
                    assertThat(chunks).as("chunks").isLessThan(1_000_000);
                }
                return null;
            } catch (IOException e) {
                return e;
            }
        }

        /**
         * Reads one chunk into {@code body}: false when it was the last (size 0, then the end of the trailers);
         * EOFException when the connection ends before.
         */
        boolean chunk(ByteArrayOutputStream body) throws IOException {
            int size = Integer.parseInt(line().split(";")[0].strip(), 16);
            if (size == 0) {
                while (!line().isEmpty()) {
                    // trailers
                }
                return false;
            }
            byte[] data = in.readNBytes(size);
            body.write(data);
            if (data.length < size) {
                throw new EOFException("the connection ended within a chunk (" + data.length + " of " + size + " bytes)");
            }
            if (!line().isEmpty()) {
                throw new IOException("no CRLF after a chunk");
            }
            return true;
        }

        private String line() throws IOException {
            StringBuilder line = new StringBuilder();
            for (int c = in.read(); c != -1; c = in.read()) {
                if (c == '\n') {
                    return line.toString().endsWith("\r") ? line.substring(0, line.length() - 1) : line.toString();
                }
                line.append((char) c);
                if (line.length() > 8192) {
                    throw new IOException("a line longer than 8 KiB");
                }
            }
            throw new EOFException("the connection ended" + (line.isEmpty() ? "" : " within a line: " + line));
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
