package io.picotunnel.server.api;

import io.picotunnel.server.access.PasswordHash;
import io.picotunnel.server.store.Database;
import io.picotunnel.server.testbed.TcpServicePorts;
import io.picotunnel.testkit.NameRule;
import io.picotunnel.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static io.picotunnel.server.tls.TestDomainResolverProvider.HELD_NAMES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What a service change does slowly (looking up its listen address's host name, hashing a basic-auth password) is
 * done before the database's write lock is taken, so that it holds up no other change: the API's other writes, the
 * sessions of sign-ins, the monitor's records all wait for that lock.
 */
class ServiceWriteLockTest {

    @RegisterExtension
    final ApiTestServer running = new ApiTestServer();
    String tunnelId;
    ExecutorService background = Executors.newSingleThreadExecutor();

    @BeforeEach
    void createTunnel() {
        tunnelId = ServiceRequests.createTunnel(running.api());
    }

    @AfterEach
    void stop() throws InterruptedException {
        HELD_NAMES.release();
        background.shutdown();
        assertThat(background.awaitTermination(NameRule.MAX_HOLD.toSeconds() + 10, TimeUnit.SECONDS)).isTrue();
    }

    /** A name of this test's own under {@code .held.test} (the JDK keeps an answer for 30 s). */
    private static String heldName() {
        return "svc-" + UUID.randomUUID().toString().substring(0, 8) + ".held.test";
    }

    @Test
    void aTcpServiceOnANameSlowToResolveHoldsUpNoOtherChange() throws Exception {
        String listen = heldName() + ":" + Ports.freePort();
        HELD_NAMES.hold();
        int begun = HELD_NAMES.lookupsBegun();
        Future<ApiClient.Response> slow = background.submit(() -> ServiceRequests.createService(running.api(), tunnelId,
                "{\"type\": \"tcp\", \"listen_addr\": \"" + listen + "\", \"target_addr\": \"localhost:22\"}"));
        await().atMost(Duration.ofSeconds(20)).until(() -> HELD_NAMES.lookupsBegun() > begun);

        ApiClient.Response other = running.api().post("/api/tunnels", "{\"name\": \"meanwhile\"}");

        assertThat(other.status()).as(other.toString()).isEqualTo(201);
        assertThat(slow).isNotDone();
        HELD_NAMES.release();
        ApiClient.Response created = slow.get(20, TimeUnit.SECONDS);
        assertThat(created.status()).as(created.toString()).isEqualTo(201);
        assertThat(created.json().get("listen_addr").asText()).isEqualTo(listen);
    }

    @Test
    void movingATcpServiceToANameSlowToResolveHoldsUpNoOtherChange() throws Exception {
        String id = TcpServicePorts.create(running.api(), tunnelId, port -> "{\"type\": \"tcp\", \"listen_addr\": \"127.0.0.1:"
                + port + "\", \"target_addr\": \"localhost:22\"}").id();
        String listen = heldName() + ":" + Ports.freePort();
        HELD_NAMES.hold();
        int begun = HELD_NAMES.lookupsBegun();
        Future<ApiClient.Response> slow = background.submit(() -> running.api().patch("/api/services/" + id,
                "{\"listen_addr\": \"" + listen + "\"}"));
        await().atMost(Duration.ofSeconds(20)).until(() -> HELD_NAMES.lookupsBegun() > begun);

        ApiClient.Response other = running.api().patch("/api/tunnels/" + tunnelId, "{\"name\": \"renamed meanwhile\"}");

        assertThat(other.status()).as(other.toString()).isEqualTo(200);
        assertThat(slow).isNotDone();
        HELD_NAMES.release();
        ApiClient.Response moved = slow.get(20, TimeUnit.SECONDS);
        assertThat(moved.status()).as(moved.toString()).isEqualTo(200);
        assertThat(moved.json().get("listen_addr").asText()).isEqualTo(listen);
    }

    /**
     * bcrypt cannot be held like a DNS answer: the test looks at the request's thread while it hashes (a few tens of
     * milliseconds, each attempt) and sees whether it is inside a database transaction.
     */
    @Test
    void aNewPasswordIsHashedOutsideTheDatabasesTransaction() throws Exception {
        String id = ServiceRequests.createService(running.api(), tunnelId, "{\"type\": \"http\", \"domain\": \"app.example.com\","
                + " \"target_addr\": \"localhost:1\"}").json().get("id").asText();
        Optional<List<StackTraceElement>> hashing = Optional.empty();
        for (int attempt = 0; attempt < 20 && hashing.isEmpty(); attempt++) {
            Future<ApiClient.Response> patch = background.submit(() -> running.api().patch("/api/services/" + id,
                    "{\"auth\": {\"type\": \"basic\", \"username\": \"u\", \"password\": \"secret-" + UUID.randomUUID() + "\"}}"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!patch.isDone() && hashing.isEmpty() && System.nanoTime() < deadline) {
                hashing = threadHashing();
            }
            ApiClient.Response answer = patch.get(20, TimeUnit.SECONDS);
            assertThat(answer.status()).as(answer.toString()).isEqualTo(200);
        }

        assertThat(hashing).as("a request thread seen hashing the password").isPresent();
        assertThat(hashing.get()).as("the hashing thread's stack")
                .noneMatch(frame -> frame.getClassName().equals(Database.class.getName())
                        && frame.getMethodName().equals("inTransaction"));
    }

    /** The stack of a thread inside {@link PasswordHash#hash}, if one is there now. */
    private static Optional<List<StackTraceElement>> threadHashing() {
        for (Map.Entry<Thread, StackTraceElement[]> thread : Thread.getAllStackTraces().entrySet()) {
            List<StackTraceElement> frames = Arrays.asList(thread.getValue());
            if (frames.stream().anyMatch(frame -> frame.getClassName().equals(PasswordHash.class.getName())
                    && frame.getMethodName().equals("hash"))) {
                return Optional.of(frames);
            }
        }
        return Optional.empty();
    }
}
