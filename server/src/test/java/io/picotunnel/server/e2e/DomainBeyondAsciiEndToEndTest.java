package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.picotunnel.server.testbed.Testbed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A service created with a domain beyond ASCII gets the requests browsers send for it, which name its xn-- form in
 * Host (and SNI).
 */
class DomainBeyondAsciiEndToEndTest {

    @TempDir
    Path dataDir;

    private Testbed testbed;
    private final RecordingTarget books = new RecordingTarget("books");
    private final RecordingTarget streets = new RecordingTarget("streets");

    @AfterEach
    void stop() {
        if (testbed != null) {
            testbed.close();
        }
        books.close();
        streets.close();
    }

    @Test
    void aServiceCreatedWithAUnicodeDomainGetsTheRequestsForItsXnForm() throws Exception {
        testbed = new Testbed(dataDir);
        JsonNode tunnel = testbed.createTunnel("t");
        String tunnelId = tunnel.get("id").asText();
        JsonNode service = testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"b\u00fccher.localhost\","
                + "\"target_addr\":\"" + books.address() + "\"}");
        testbed.createService(tunnelId, "{\"type\":\"http\",\"domain\":\"*.stra\u00dfe.localhost\","
                + "\"target_addr\":\"" + streets.address() + "\"}");
        assertThat(service.get("domain").asText()).isEqualTo("xn--bcher-kva.localhost");
        testbed.connect(tunnelId, tunnel.get("token").asText());
        int port = testbed.server().httpPort();
        Visitor visitor = new Visitor("127.0.0.1");

        Visitor.Response book = visitor.get(port, "xn--bcher-kva.localhost:" + port, "/");
        Visitor.Response street = visitor.get(port, "www.XN--STRAE-OQA.localhost", "/");

        assertThat(book.status()).as(book.toString()).isEqualTo(200);
        assertThat(book.body()).isEqualTo("books");
        assertThat(street.status()).as(street.toString()).isEqualTo(200);
        assertThat(street.body()).isEqualTo("streets");
        // strasse is another name.
        assertThat(visitor.get(port, "www.strasse.localhost", "/").status()).isEqualTo(404);
    }
}
