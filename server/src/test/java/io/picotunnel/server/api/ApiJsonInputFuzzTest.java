package io.picotunnel.server.api;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.picotunnel.server.net.PortRanges;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the API's JSON input: any body, read as {@code POST /api/tunnels/{id}/services} and
 * {@code PATCH /api/services/{id}} read it ({@link JsonBody} then {@link ServiceInput}), either becomes a valid
 * service or a 4xx {@link ApiError}: never another exception (which would be a 500). {@code make test} runs the
 * saved inputs; {@code make fuzz} fuzzes.
 */
class ApiJsonInputFuzzTest {

    private static final ServiceInput INPUT = new ServiceInput(List.of(), PortRanges.parse("1024-65535"), true);
    private static final Service STORED = new Service("0011223344556677", "a1b2c3d4e5f60718", ServiceType.HTTP,
            "app.example.com", "/", TlsMode.TERMINATE, null, "localhost:3000", true, Instant.parse("2026-01-01T00:00:00Z"));

    @FuzzTest(maxDuration = "60s")
    void serviceBody(byte[] input) {
        for (boolean patch : new boolean[] {false, true}) {
            try {
                JsonBody body = JsonBody.parse(input, "application/json", ServiceInput.WRITABLE, ServiceInput.READ_ONLY);
                Service service = patch ? INPUT.patch(STORED, body) : INPUT.create("a1b2c3d4e5f60718", body);
                assertThat(service.type()).isNotNull();
                assertThat(service.targetAddr()).isNotBlank();
                if (service.type() == ServiceType.HTTP) {
                    assertThat(service.domain()).isNotBlank();
                    assertThat(service.pathPrefix()).startsWith("/");
                }
            } catch (ApiError e) {
                assertThat(e.status()).isBetween(400, 499);
                assertThat(e.getMessage()).isNotBlank();
            }
        }
    }
}
