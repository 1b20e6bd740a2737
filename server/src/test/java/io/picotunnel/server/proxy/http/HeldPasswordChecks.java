package io.picotunnel.server.proxy.http;

import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.PasswordChecksOn;
import io.picotunnel.server.access.PasswordHash;
import io.picotunnel.server.access.ServiceAuth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Access control whose password checks ({@code auth: basic}) wait until the test lets them run: a request with
 * credentials stays in its access check (ProxyHandler's CHECKING) for as long as the test needs. One check thread,
 * first taken by a task that waits for {@link #release}; the checks queue behind it.
 */
final class HeldPasswordChecks implements AutoCloseable {

    private static final String USER = "alice";
    private static final String PASSWORD = "held check";

    private final CountDownLatch released = new CountDownLatch(1);
    private final ExecutorService checks = Executors.newSingleThreadExecutor();
    private final AccessControl access = PasswordChecksOn.executor(checks);

    HeldPasswordChecks() {
        checks.execute(() -> {
            try {
                released.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** For {@link HttpProxy.Builder#access}. */
    AccessControl access() {
        return access;
    }

    /** A service's access: the user and password of {@link #authorization}, a real hash (a check takes ~0.1 s). */
    static AccessPolicy policy() {
        return AccessPolicy.OPEN.withAuth(new ServiceAuth.Basic(USER, PasswordHash.hash(PASSWORD)));
    }

    /** The Authorization header of the right credentials. */
    static String authorization() {
        return authorization(PASSWORD);
    }

    /** The Authorization header of the right user with {@code password}. */
    static String authorization(String password) {
        return "Basic " + Base64.getEncoder().encodeToString((USER + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** Lets the checks queued, and any later, run. */
    void release() {
        released.countDown();
    }

    /** Waits until the checks queued so far are done (their verdicts handed to the proxy's event loops). */
    void awaitChecked() throws Exception {
        checks.submit(() -> {
        }).get(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
        release();
        access.close();
    }
}
