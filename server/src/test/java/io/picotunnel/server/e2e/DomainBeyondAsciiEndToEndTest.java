package io.picotunnel.server.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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

    private HttpServicesTunnel tunnel;

    @BeforeEach
    void start() {
        tunnel = new HttpServicesTunnel(dataDir);
    }

    @AfterEach
    void stop() {
        tunnel.close();
    }

    @Test
    void aServiceCreatedWithAUnicodeDomainGetsTheRequestsForItsXnForm() throws Exception {
        JsonNode service = tunnel.service("b\u00fccher.localhost", tunnel.target("books").address());
        tunnel.service("*.stra\u00dfe.localhost", tunnel.target("streets").address());
        assertThat(service.get("domain").asText()).isEqualTo("xn--bcher-kva.localhost");
        int port = tunnel.connect();
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
