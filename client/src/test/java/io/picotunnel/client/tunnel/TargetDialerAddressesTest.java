package io.picotunnel.client.tunnel;

import ch.qos.logback.classic.Level;
import io.netty.channel.ConnectTimeoutException;
import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.testkit.LogCapture;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;

import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_RST;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target whose name has several addresses (an A and an AAAA record, as {@code localhost} has): the client dials
 * them as Go's net.Dialer does, those of the first address's family in turn and, 300 ms later, those of the other beside
 * them ({@link HappyEyeballs}), all within the one dial timeout, which each family shares as Go shares it
 * ({@link AddressShares}). Names under {@code .dual.test} resolve to 127.0.0.1 then ::1 ({@link SlowDnsResolverProvider}).
 */
class TargetDialerAddressesTest {

    private static final int STREAM = 2;

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("addresses");

    @AfterEach
    void tearDown() throws InterruptedException {
        client.close();
    }

    @Test
    void aTargetListeningOnlyOnItsIpv6AddressIsReachedByANameWhoseFirstAddressIsIpv4() throws Exception {
        // As a Node or Vite dev server on "localhost" listens on ::1 alone, while the name resolves to 127.0.0.1 first.
        try (ServerSocket target = new ServerSocket()) {
            target.bind(new InetSocketAddress(InetAddress.getByName("::1"), 0));
            target.setSoTimeout(20_000);
            String name = "app.dual.test:" + target.getLocalPort();
            int port = client.listen(AllowList.parse(name), Duration.ofSeconds(10));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, name, 0);
                try (Socket accepted = target.accept()) {
                    accepted.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                    assertThat(readData(server.getInputStream())).isEqualTo("hello");
                }
            }
        }
    }

    @Test
    void aTargetWhoseIpv4AddressIsSilentIsReachedOnItsIpv6AddressAfterTheFallbackDelay() throws Exception {
        // A dual-stack LAN target whose A record points where a firewall drops the packets, beside a working AAAA:
        // ::1 is tried 300 ms after 127.0.0.1, beside it, not once 127.0.0.1's share (5 of the 10 s) has run out.
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0)) {
            long reachedMillis = reachIpv6Beside(silent, winner -> { });
            assertThat(reachedMillis).as("ms until ::1 answered").isBetween(
                    HappyEyeballs.FALLBACK_DELAY.toMillis() - 50, 3_000L);
        }
    }

    interface WithWinner {
        void accept(Socket winner) throws Exception;
    }

    /**
     * Dials {@code app.dual.test} at {@code silent}'s port, where ::1 listens: "hello" from ::1 must come through the
     * stream; {@code withWinner} then runs with the connection ::1 accepted. Returns the ms from the dial to "hello".
     */
    private long reachIpv6Beside(SilentListener silent, WithWinner withWinner) throws Exception {
        try (ServerSocket target = new ServerSocket()) {
            target.bind(new InetSocketAddress(InetAddress.getByName("::1"), silent.port()));
            target.setSoTimeout(20_000);
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(10));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                long start = System.nanoTime();
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, "app.dual.test:" + silent.port(), 0);
                try (Socket winner = target.accept()) {
                    winner.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                    assertThat(readData(server.getInputStream())).isEqualTo("hello");
                    long reachedMillis = (System.nanoTime() - start) / 1_000_000;
                    withWinner.accept(winner);
                    return reachedMillis;
                }
            }
        }
    }

    @Test
    void theAddressThatLostTheRaceLeavesNoConnectionOpenAtTheTarget() throws Exception {
        // 127.0.0.1 drops the SYNs until ::1 has won, then takes them: the attempt on it, called off, must not come
        // through on a SYN sent again (1 s, 3 s after the first), or must be closed if it does.
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0)) {
            reachIpv6Beside(silent, winner -> {
                silent.startAnswering();
                try (Socket loser = silent.accept(Duration.ofSeconds(4))) {
                    if (loser != null) {
                        loser.setSoTimeout(5_000);
                        assertThat(endOf(loser)).as("the losing connection's end").isIn("EOF", "reset");
                    }
                }
            });
        }
    }

    /** "EOF" or "reset" when {@code socket} ends before its read timeout; throws when it stays open. */
    static String endOf(Socket socket) throws IOException {
        try {
            int read = socket.getInputStream().read();
            return read < 0 ? "EOF" : "a byte";
        } catch (SocketException e) {
            return "reset";
        }
    }

    @Test
    void aTargetWhoseAddressesAreAllSilentIsResetAsTimedOutWithinTheOneDialTimeout() throws Exception {
        try (SilentListener first = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             SilentListener second = new SilentListener(InetAddress.getByName("::1"), first.port());
             LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(4));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                long start = System.nanoTime();
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, "app.dual.test:" + second.port(), 0);

                assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM)).as("the reason: timeout")
                        .isEqualTo((long) ResetReason.TARGET_TIMEOUT.code());
                long resetMillis = (System.nanoTime() - start) / 1_000_000;
                // Each family had what was left of the 4 s: the failure told is that of the first address, 127.0.0.1,
                // then what ::1 did.
                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .contains("app.dual.test:" + second.port()).contains("/127.0.0.1:" + first.port())
                        .contains("(the first of its 2 addresses, which share the dial timeout of 4 s;"
                                + " then 0:0:0:0:0:0:0:1 did not answer)");
                // Within the one 4 s (give or take the test JVM warming up), ::1 tried beside 127.0.0.1.
                assertThat(resetMillis).as("ms until the stream was reset").isBetween(3_900L, 7_000L);
            }
        }
    }

    @Test
    void aTargetWhoseFirstAddressIsSilentAndSecondRefusesIsResetAsTimedOut() throws Exception {
        // As Go's dialSerial reports a dial: the first address's error is the most relevant. The second address
        // refuses at once (nothing listens on ::1 at that port) 300 ms after the first was tried, which goes on
        // without an answer for the rest of the 4 s.
        try (SilentListener silent = new SilentListener(InetAddress.getByName("127.0.0.1"), 0);
             LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(4));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, "app.dual.test:" + silent.port(), 0);

                assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM))
                        .as("the reason: the first address's timeout, not the second's refusal")
                        .isEqualTo((long) ResetReason.TARGET_TIMEOUT.code());
                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .contains("/127.0.0.1:" + silent.port())
                        .contains("(the first of its 2 addresses, which share the dial timeout of 4 s;"
                                + " then 0:0:0:0:0:0:0:1 refused)");
            }
        }
    }

    @Test
    void aLookupStillRunningAtTheDialTimeoutIsLoggedWithTheTimeoutInSeconds() throws Exception {
        // The lookup (5 s) runs on the resolver's threads: the 1 s timer fires while it still runs. A name of its own:
        // the JVM caches the answer, which TargetDialerStopTest's lookup of app.slow.test must not find.
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(1));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                String target = "lookup-timeout.slow.test:" + Ports.freePort();
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, target, 0);

                assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM))
                        .as("the reason: timeout").isEqualTo((long) ResetReason.TARGET_TIMEOUT.code());
                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .contains("target " + target + " unreachable: its name did not resolve within the dial"
                                + " timeout of 1 s");
            }
        }
    }

    @Test
    void aLookupThatTookTheWholeDialTimeoutIsLoggedWithNoAddressTried() throws Exception {
        // The lookup (2 s) runs on the stream's own event loop here, so that its answer is in before the 1 s timer can
        // fire: the dial then finds no time left, as when a lookup ends just at the deadline.
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(1), Runnable::run);
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                String target = "app.slowdual.test:" + Ports.freePort();
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, target, 0);

                assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM))
                        .as("the reason: timeout").isEqualTo((long) ResetReason.TARGET_TIMEOUT.code());
                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .contains("unreachable: the name lookup took the whole dial timeout of 1 s"
                                + " (none of its 2 addresses was tried)");
            }
        }
    }

    @Test
    void theLogLineSaysWhatTheOtherAddressesDidAndHowManyWereLeftUntried() throws Exception {
        InetAddress[] addresses = {InetAddress.getByName("127.0.0.1"), InetAddress.getByName("::1"),
                InetAddress.getByName("127.0.0.2")};
        Duration timeout = Duration.ofSeconds(4);
        Throwable silent = new ConnectTimeoutException("connection timed out after 2000 ms");
        Throwable refused = new ConnectException("finishConnect(..) failed: Connection refused");
        assertThat(TargetDialer.otherAddresses(addresses, new Throwable[] {silent, refused, null}, timeout)).isEqualTo(
                " (the first of its 3 addresses, which share the dial timeout of 4 s; then 0:0:0:0:0:0:0:1"
                        + " refused; no time was left for the other one)");
        assertThat(TargetDialer.otherAddresses(addresses, new Throwable[] {silent, silent, null}, timeout)).isEqualTo(
                " (the first of its 3 addresses, which share the dial timeout of 4 s; then 0:0:0:0:0:0:0:1"
                        + " did not answer; no time was left for the other one)");
        assertThat(TargetDialer.otherAddresses(addresses, new Throwable[] {silent, null, refused}, timeout))
                .as("the other family tried while the first address's own family ran out of time").isEqualTo(
                " (the first of its 3 addresses, which share the dial timeout of 4 s; then 127.0.0.2"
                        + " refused; no time was left for the other one)");
        assertThat(TargetDialer.otherAddresses(addresses, new Throwable[3], timeout))
                .isEqualTo(" (none of its 3 addresses was tried)");
        assertThat(TargetDialer.otherAddresses(new InetAddress[] {addresses[0]}, new Throwable[] {silent}, timeout))
                .as("a name with one address").isEmpty();
    }

    @Test
    void theLogLineNamesAtMostEightOtherAddressesAndCountsTheRest() throws Exception {
        InetAddress[] addresses = new InetAddress[21];
        Throwable[] tried = new Throwable[21];
        for (int i = 0; i < addresses.length; i++) {
            addresses[i] = InetAddress.getByName("127.0.0." + (i + 1));
            tried[i] = i < 20 ? new ConnectException("Connection refused") : null;
        }

        String line = TargetDialer.otherAddresses(addresses, tried, Duration.ofSeconds(10));

        assertThat(line).isEqualTo(" (the first of its 21 addresses, which share the dial timeout of 10 s; then "
                + "127.0.0.2 refused, 127.0.0.3 refused, 127.0.0.4 refused, 127.0.0.5 refused, 127.0.0.6 refused, "
                + "127.0.0.7 refused, 127.0.0.8 refused, 127.0.0.9 refused, and 11 more; no time was left for the"
                + " other one)");
        assertThat(TargetDialer.otherAddresses(Arrays.copyOf(addresses, 9), Arrays.copyOf(tried, 9),
                Duration.ofSeconds(10))).as("eight others: all named").endsWith("127.0.0.9 refused)");
    }

    @Test
    void aTargetRefusingOnEveryAddressIsResetAsRefused() throws Exception {
        String name = "app.dual.test:" + Ports.freePort();
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(10));
        try (Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, name, 0);
            assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM)).as("the reason: refused")
                    .isEqualTo((long) ResetReason.TARGET_REFUSED.code());
        }
    }

    /** Netty's epoll wording was logged as it was: "finishConnect(..) failed with error(-111): Connection refused: ...". */
    @Test
    void aRefusingTargetIsLoggedInPlainWordsWithTheAddressTried() throws Exception {
        int closed = Ports.freePort();
        String target = "127.0.0.1:" + closed;
        try (LogCapture log = new LogCapture(TargetDialer.class, Level.INFO)) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(10));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                TargetDialerBehindYamux.open(server.getOutputStream(), STREAM, target, 0);
                assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM))
                        .isEqualTo((long) ResetReason.TARGET_REFUSED.code());
                assertThat(log.messages(Level.WARN)).singleElement().asString()
                        .endsWith("target " + target + " unreachable: connection refused by 127.0.0.1:" + closed);
            }
        }
    }

    /** Reads frames up to the first Data frame with a payload on our stream; fails on its RST. */
    private static String readData(InputStream input) throws Exception {
        DataInputStream in = new DataInputStream(input);
        for (int i = 0; i < 1000; i++) {
            TargetDialerBehindYamux.Frame frame = TargetDialerBehindYamux.readFrame(in);
            int reason = (int) frame.length();
            assertThat(frame.streamId() == STREAM && (frame.flags() & FLAG_RST) != 0)
                    .as("stream %d reset, reason %d (%s)", STREAM, reason, ResetReason.of(reason)).isFalse();
            if (frame.streamId() == STREAM && frame.payload().length > 0) {
                return new String(frame.payload(), StandardCharsets.US_ASCII);
            }
        }
        throw new AssertionError("no data for stream " + STREAM + " within 1000 frames");
    }
}
