package io.picotunnel.client.tunnel;

import io.picotunnel.client.config.AllowList;
import io.picotunnel.protocol.yamux.ResetReason;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.SilentListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NoRouteToHostException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;

import static io.picotunnel.client.tunnel.TargetDialerBehindYamux.frame;
import static io.picotunnel.protocol.yamux.YamuxSpec.FLAG_SYN;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_DATA;
import static io.picotunnel.protocol.yamux.YamuxSpec.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The reason in the length of the RST our client sends for a stream it could not connect, read as raw yamux
 * frames: the client's stream handlers (header decoder and {@link TargetDialer}) behind our yamux session on a
 * TCP connection (no WebSocket), and a raw socket playing the server that opens the stream.
 */
class TargetDialerResetReasonTest {

    private static final int STREAM = 2;

    private final TargetDialerBehindYamux client = new TargetDialerBehindYamux("reason");

    @AfterEach
    void tearDown() throws InterruptedException {
        client.close();
    }

    @Test
    void targetOutsideTheAllowListIsResetWithReasonOne() throws Exception {
        String target = "127.0.0.1:" + Ports.freePort();
        int port = client.listen(AllowList.parse("127.0.0.1:" + Ports.freePort()), Duration.ofSeconds(10));

        assertThat(resetLengthFor(port, target)).isEqualTo(1);
    }

    @Test
    void targetRefusingTheConnectionIsResetWithReasonTwo() throws Exception {
        int port = client.listen(AllowList.ANY, Duration.ofSeconds(10));

        assertThat(resetLengthFor(port, "127.0.0.1:" + Ports.freePort())).isEqualTo(2);
    }

    @Test
    void targetNotAnsweringWithinTheDialTimeoutIsResetWithReasonThree() throws Exception {
        try (SilentListener silent = new SilentListener()) {
            int port = client.listen(AllowList.ANY, Duration.ofMillis(500));

            assertThat(resetLengthFor(port, silent.address())).isEqualTo(3);
        }
    }

    @Test
    void streamEndedForOtherCausesIsResetWithoutReason() throws Exception {
        try (ServerSocket resetting = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = client.listen(AllowList.ANY, Duration.ofSeconds(10));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                server.setSoTimeout(20_000);
                open(server.getOutputStream(), "127.0.0.1:" + resetting.getLocalPort());
                try (Socket accepted = resetting.accept()) {
                    accepted.setSoLinger(true, 0);
                }
                assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM)).isZero();
            }
        }
    }

    @Test
    void aHeaderThatNeverCompletesIsResetAfterTheDialTimeout() throws Exception {
        int port = client.listen(AllowList.ANY, Duration.ofMillis(500));
        try (Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            OutputStream out = server.getOutputStream();
            out.write(frame(TYPE_WINDOW_UPDATE, FLAG_SYN, STREAM, 0));
            out.write(frame(TYPE_DATA, 0, STREAM, 1));
            out.write(0); // the first byte of a header, and no more: before, the stream stayed open for ever
            out.flush();
            assertThat(TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM)).isZero();
        }
    }

    @Test
    void aNameLookupThatNeverAnswersIsResetWithReasonThreeAfterTheDialTimeout() throws Exception {
        // A resolver stuck as getaddrinfo is behind an unreachable DNS server: the lookup never returns.
        int port = client.listen(AllowList.ANY, Duration.ofMillis(500), lookup -> { });

        assertThat(resetLengthFor(port, "target.example:80")).isEqualTo(3);
    }

    @Test
    void theTargetDialledIsTheOneTheAllowListChecked() throws Exception {
        // Checked as 127.0.0.1 (the parse strips the tab), it was resolved as "\t127.0.0.1": unknown host.
        assertDialledOnLoopback("127.0.0.1", "\t127.0.0.1");
    }

    @Test
    void aTargetNameBeyondAsciiIsCheckedAndDialledInItsPunycodeForm() throws Exception {
        // The allow list in the other spelling; names below .localhost resolve to loopback in the test resolver.
        assertDialledOnLoopback("xn--bcher-kva.localhost", "Bücher.localhost");
        assertNotAllowed("reason-idn", "bücher.localhost:" + Ports.freePort(),
                "buecher.localhost:" + Ports.freePort());
    }

    @Test
    void aTargetWithSharpSIsItsIdna2008FormNotTheNameWithSs() throws Exception {
        int free = Ports.freePort();
        assertNotAllowed("reason-idn-ss", "strasse.localhost:" + free, "straße.localhost:" + free);
        assertDialledOnLoopback("xn--strae-oqa.localhost", "Straße.localhost");
    }

    @Test
    void aConnectFailingWithAResetIsNotCountedAsARefusal() {
        // What the epoll transport reports when the target accepted and reset before the connect was seen complete.
        assertThat(TargetDialer.reasonOf(new ConnectException("finishConnect(..) failed: Connection reset by peer")))
                .isEqualTo(ResetReason.NONE);
        assertThat(TargetDialer.reasonOf(new ConnectException("finishConnect(..) failed: Connection refused")))
                .isEqualTo(ResetReason.TARGET_REFUSED);
        assertThat(TargetDialer.reasonOf(new ConnectException("Connection refused")))
                .isEqualTo(ResetReason.TARGET_REFUSED);
    }

    @Test
    void aTargetWithNoRouteToItIsResetAsUnreachableNotAsRefusedOrWithoutReason() {
        // No loopback address lacks a route, so the failures are those the transports report (EHOSTUNREACH,
        // ENETUNREACH): Netty epoll's NoRouteToHostException, a ConnectException that says so, the JDK's
        // NoRouteToHostException and SocketException. They went to the server as no reason (NONE), or as a refusal.
        for (Throwable noRoute : new Throwable[] {
            new ConnectException("finishConnect(..) failed: No route to host"),
            new NoRouteToHostException("connect(..) failed: Network is unreachable"),
            new NoRouteToHostException("No route to host"),
            new SocketException("Network is unreachable"),
            new ConnectException("finishConnect(..) failed: Host is unreachable")}) {
            assertThat(TargetDialer.reasonOf(noRoute)).as(noRoute.toString()).isEqualTo(ResetReason.TARGET_UNREACHABLE);
        }
        assertThat(TargetDialer.reasonOf(new SocketException("Connection reset"))).isEqualTo(ResetReason.NONE);
    }

    /**
     * With the allow list {@code allowedHost:port}, a stream to {@code askedHost:port} is dialled: a target on loopback
     * at that port accepts a connection from loopback.
     */
    private void assertDialledOnLoopback(String allowedHost, String askedHost) throws Exception {
        try (ServerSocket target = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            target.setSoTimeout(20_000);
            int targetPort = target.getLocalPort();
            int port = client.listen(AllowList.parse(allowedHost + ":" + targetPort), Duration.ofSeconds(10));
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                open(server.getOutputStream(), askedHost + ":" + targetPort);
                try (Socket accepted = target.accept()) {
                    assertThat(accepted.getInetAddress().isLoopbackAddress()).isTrue();
                }
            }
        }
    }

    /**
     * A client of its own ({@code name}) with the allow list {@code allowed} resets a stream to {@code target} with
     * reason 1 (not allowed).
     */
    private static void assertNotAllowed(String name, String allowed, String target) throws Exception {
        TargetDialerBehindYamux other = new TargetDialerBehindYamux(name);
        try {
            int port = other.listen(AllowList.parse(allowed), Duration.ofSeconds(10));
            assertThat(resetLengthFor(port, target)).as("not allowed").isEqualTo(1);
        } finally {
            other.close();
        }
    }

    private static long resetLengthFor(int port, String target) throws IOException {
        try (Socket server = new Socket()) {
            server.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            server.setSoTimeout(20_000);
            open(server.getOutputStream(), target);
            return TargetDialerBehindYamux.awaitReset(server.getInputStream(), STREAM);
        }
    }

    /** As the server does: WindowUpdate|SYN for stream 2, then a Data frame with the stream header. */
    private static void open(OutputStream out, String target) throws IOException {
        TargetDialerBehindYamux.open(out, STREAM, target, 0);
    }
}
