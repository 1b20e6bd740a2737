package io.picotunnel.server.proxy.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.tls.CertificateLoader;
import io.picotunnel.server.tls.CertificateStore;
import io.picotunnel.server.tls.HttpsListener;
import io.picotunnel.server.tls.HttpsRouter;
import io.picotunnel.server.tls.PassthroughRoutes;
import io.picotunnel.server.tls.ServerCertificate;
import io.picotunnel.server.tls.SniSockets;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.server.tls.TlsAlpnChallenges;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.Ports;
import io.picotunnel.testkit.RefusedSender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The proxy's last answer on an HTTP/1.1 connection (plain or TLS) ends with a lingering close: the visitor that is
 * still sending (an upload the proxy refused, a head too large, a body the target did not wait for) reads the whole
 * answer and then the end of the connection, not a reset. A close with the visitor's bytes unread, or arriving after
 * it, makes the kernel reset the connection, and the visitor's read fails with 'Connection reset'.
 */
class ProxyLingeringCloseTest {

    /** The body the requests announce: more than a lingering close reads (1 MiB). */
    private static final int LARGE_BODY = 4 * 1024 * 1024;
    /** What of it is sent with the head: less than a lingering close reads. */
    private static final int SENT_BODY = 256 * 1024;

    private final TestCertificates certificates = new TestCertificates();
    private EventLoopGroup group;
    private ServerSocket earlyTarget;
    private Channel plain;
    private Channel tls;
    /** The server's own HTTPS listener (SNI routing, the certificate store's contexts, ALPN) in front of the proxy. */
    private HttpsListener https;
    /** The proxy's side of the last visitor connection accepted. */
    private final AtomicReference<Channel> visitor = new AtomicReference<>();

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(2, "linger-test");
        earlyTarget = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("early-target").start(this::answerBeforeTheBody);
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "down.test", "/", TlsMode.TERMINATE,
                null, "127.0.0.1:" + Ports.freePort(), true, Instant.now()));
        routes.onServiceChange(null, new Service("s2", "t1", ServiceType.HTTP, "early.test", "/", TlsMode.TERMINATE,
                null, "127.0.0.1:" + earlyTarget.getLocalPort(), true, Instant.now()));
        HttpProxy proxy = HttpProxy.builder().routes(routes).opener(new DirectOpener(group)).build();
        plain = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        visitor.set(ch);
                        proxy.initHttp1(ch.pipeline(), false);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        TestCertificates.Issued issued = certificates.issue("localhost");
        SslContext ssl = SslContextBuilder.forServer(issued.keyPair().getPrivate(), issued.chain()).build();
        tls = new ServerBootstrap().group(group).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        visitor.set(ch);
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc()));
                        proxy.initHttp1(ch.pipeline(), true);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        CertificateStore store = new CertificateStore();
        TestCertificates.Issued wildcard = certificates.issue("*.apps.test", "down.test", "early.test");
        ServerCertificate served = CertificateLoader.of(wildcard.chain(), wildcard.keyPair().getPrivate(), "test");
        store.putFromFile("*.apps.test", served);
        store.putFromFile("early.test", served);
        https = new HttpsListener(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), group,
                new HttpsRouter(store, new PassthroughRoutes(), TlsAlpnChallenges.NONE, null), proxy,
                (ctx, route) -> ctx.close());
        https.start();
    }

    @AfterEach
    void stop() throws IOException {
        https.close();
        earlyTarget.close();
        plain.close().syncUninterruptibly();
        tls.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Answers each request at once with 413 and Connection: close, then reads and drops the body, as servers do. */
    private void answerBeforeTheBody() {
        while (!earlyTarget.isClosed()) {
            try (Socket socket = earlyTarget.accept()) {
                socket.setSoTimeout(10_000);
                InputStream in = socket.getInputStream();
                HttpHead.read(in);
                OutputStream out = socket.getOutputStream();
                out.write(("HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
                        + "too much").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                socket.shutdownOutput();
                in.skip(Long.MAX_VALUE);
            } catch (IOException e) {
                // the proxy closed the stream, or the test ended: the next connection, or none
            }
        }
    }

    @Test
    void anUploadToAnUnknownHostGetsTheWhole404AndAnOrderlyClose() throws Exception {
        String answer = sendingWhileRefused(plainSocket(),
                "POST /upload HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertWholeAnswer(answer, 404);
    }

    @Test
    void anUploadExpecting100ContinueToAnUnknownHostGetsOur404PageAndTheCloseWithoutA100() throws Exception {
        // The proxy has no aggregator: nothing of Netty's answers the expectation; the body is never invited.
        try (Socket socket = plainSocket()) {
            socket.getOutputStream().write(("POST /upload HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: "
                    + LARGE_BODY + "\r\nExpect: 100-continue\r\nAccept: application/json\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));

            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertWholeAnswer(answer, 404);
            assertThat(answer).doesNotContain("100 Continue").contains("\"error\":\"unknown_host\"");
        }
    }

    @Test
    void aHeadTooLargeThatGoesOnGetsTheWhole431AndAnOrderlyClose() throws Exception {
        // The header line never ends: the bytes that follow are all part of it.
        String answer = sendingWhileRefused(plainSocket(), "GET / HTTP/1.1\r\nHost: nowhere.test\r\nX-Big: ");

        assertWholeAnswer(answer, 431);
    }

    @Test
    void anUploadToAServiceWhoseTargetIsDownGetsTheWhole502AndAnOrderlyClose() throws Exception {
        String answer = sendingWhileRefused(plainSocket(),
                "POST /upload HTTP/1.1\r\nHost: down.test\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertWholeAnswer(answer, 502);
    }

    @Test
    void aTargetThatAnswersBeforeTheWholeUploadHasItsAnswerReadWholeAndAnOrderlyClose() throws Exception {
        String answer = sendingWhileRefused(plainSocket(),
                "POST /upload HTTP/1.1\r\nHost: early.test\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertThat(answer).startsWith("HTTP/1.1 413 ").endsWith("\r\n\r\ntoo much");
        assertThat(answer.lines()).anyMatch(line -> line.equalsIgnoreCase("connection: close"));
    }

    @Test
    void overTlsAnUploadToAnUnknownHostGetsTheWhole404AndAnOrderlyClose() throws Exception {
        SSLSocket socket = (SSLSocket) certificates.clientContext().getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), port(tls));
        socket.setSoTimeout(10_000);
        socket.startHandshake();

        // The answer, then TLS close_notify: the end of the stream (TLS 1.3 leaves the visitor's side open).
        String answer = sendingWhileRefused(socket,
                "POST /upload HTTP/1.1\r\nHost: nowhere.test\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertWholeAnswer(answer, 404);
    }

    @Test
    void onTheHttpsListenerAnUploadToAnUnknownHostGetsTheWhole404AndAnOrderlyClose() throws Exception {
        String answer = sendingWhileRefused(httpsSocket("nowhere.apps.test"),
                "POST /upload HTTP/1.1\r\nHost: nowhere.apps.test\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertWholeAnswer(answer, 404);
    }

    @Test
    void onTheHttpsListenerAHeadTooLargeThatGoesOnGetsTheWhole431AndAnOrderlyClose() throws Exception {
        String answer = sendingWhileRefused(httpsSocket("nowhere.apps.test"),
                "GET / HTTP/1.1\r\nHost: nowhere.apps.test\r\nX-Big: ");

        assertWholeAnswer(answer, 431);
    }

    @Test
    void onTheHttpsListenerARequestWithoutHostThatGoesOnGetsTheWhole400AndAnOrderlyClose() throws Exception {
        String answer = sendingWhileRefused(httpsSocket("nowhere.apps.test"),
                "POST /upload HTTP/1.1\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertWholeAnswer(answer, 400);
    }

    @Test
    void onTheHttpsListenerATargetThatAnswersBeforeTheWholeUploadHasItsAnswerReadWholeAndAnOrderlyClose()
            throws Exception {
        String answer = sendingWhileRefused(httpsSocket("early.test"),
                "POST /upload HTTP/1.1\r\nHost: early.test\r\nContent-Length: " + LARGE_BODY + "\r\n\r\n");

        assertThat(answer).startsWith("HTTP/1.1 413 ").endsWith("\r\n\r\ntoo much");
    }

    @Test
    void aRefusedVisitorThatSendsNothingMoreIsReadUntilTheLingerIdleTimeThenClosed() throws Exception {
        try (Socket socket = plainSocket()) {
            socket.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

            assertWholeAnswer(new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1), 400);
            Channel proxySide = visitor.get();
            long answered = System.nanoTime();
            assertThat(proxySide.isOpen()).as("the proxy's side right after the answer's end").isTrue();
            await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(20)).until(() -> !proxySide.isOpen());
            assertThat(Duration.ofNanos(System.nanoTime() - answered)).as("how long the idle visitor was read")
                    .isGreaterThan(Duration.ofMillis(1500));
        }
    }

    private Socket plainSocket() throws IOException {
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), port(plain));
        socket.setSoTimeout(10_000);
        return socket;
    }

    /** A TLS connection to the HTTPS listener that asks for {@code serverName} by SNI, handshaken (http/1.1). */
    private SSLSocket httpsSocket(String serverName) throws IOException {
        SSLSocket socket = SniSockets.connect(certificates.clientContext(), https.port(), serverName);
        socket.startHandshake();
        return socket;
    }

    private static int port(Channel listener) {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /**
     * Sends {@code head} and {@link #SENT_BODY} bytes more without reading anything, then reads everything up to the
     * end of the connection ({@link RefusedSender}); then sends more for a while. When the proxy happened to have
     * read all there was when it closed, the end comes, but what is sent after it is answered with a reset, and a
     * write after that fails.
     */
    private static String sendingWhileRefused(Socket socket, String head) throws IOException {
        try (socket) {
            String answer = RefusedSender.send(socket, head, SENT_BODY);
            OutputStream out = socket.getOutputStream();
            byte[] more = new byte[1024];
            Arrays.fill(more, (byte) 'a');
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(25))
                    .until(() -> {
                        out.write(more);
                        out.flush();
                        return true;
                    });
            return answer;
        }
    }

    /** The status line, {@code Connection: close}, and the body whole, as its Content-Length says. */
    private static void assertWholeAnswer(String answer, int status) {
        int split = answer.indexOf("\r\n\r\n");
        assertThat(split).as("end of the head in: %s", answer).isPositive();
        String head = answer.substring(0, split);
        String body = answer.substring(split + 4);
        assertThat(head).startsWith("HTTP/1.1 " + status + " ");
        assertThat(head.lines()).as("the head's lines").anyMatch(line -> line.equalsIgnoreCase("connection: close"))
                .anyMatch(line -> line.equalsIgnoreCase("content-length: " + body.length()));
        assertThat(body).isNotEmpty();
    }
}
