package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.netty.util.concurrent.Promise;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.server.tls.TestCertificates;
import io.picotunnel.testkit.HttpHead;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.picotunnel.testkit.Http2Frames.frame;
import static io.picotunnel.testkit.Http2Frames.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * HTTP/2 from a real HTTP/2 client over TLS with ALPN, through {@link HttpProxy#initHttp2}, HTTP/1.1 upstream; and
 * how a response cut after its head ends there and on HTTP/1.1 over the same TLS listener.
 */
class Http2ProxyTest {

    private final TestCertificates certificates = new TestCertificates();
    private EventLoopGroup group;
    private TargetServer target;
    private ServerSocket cutTarget;
    private ServerSocket rawTarget;
    /** The target of {@link #echoService}, when a test made one. */
    private ServerSocket echoTarget;
    /** The target of /processing-forever, which counts its connections that ended. */
    private KeepAliveTarget processingTarget;
    private Channel server;
    private final List<Channel> listeners = new ArrayList<>();
    /** What the raw targets' answers threw besides an I/O failure (a mistake of the test's): the test fails on it. */
    private final Queue<Throwable> targetFailures = new ConcurrentLinkedQueue<>();
    /** The raw targets' accept loops, waited for after the test so that what their last answers throw is kept. */
    private final List<Thread> targetThreads = new ArrayList<>();
    private HttpRoutes routes;
    private SslContext ssl;

    @BeforeEach
    void start() throws Exception {
        group = Transport.newEventLoopGroup(2, "h2-test");
        target = new TargetServer("h2target");
        routes = new HttpRoutes();
        routes.onServiceChange(null, new Service("s1", "t1", ServiceType.HTTP, "localhost", "/", TlsMode.TERMINATE,
                null, target.address(), true, Instant.now()));
        cutTarget = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        targetThreads.add(Thread.ofVirtual().name("cut-target").start(this::answerWithACutBody));
        routes.onServiceChange(null, new Service("s2", "t1", ServiceType.HTTP, "localhost", "/cut", TlsMode.TERMINATE,
                null, "127.0.0.1:" + cutTarget.getLocalPort(), true, Instant.now()));
        rawTarget = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        targetThreads.add(Thread.ofVirtual().name("raw-target").start(this::answerByPath));
        routes.onServiceChange(null, new Service("s3", "t1", ServiceType.HTTP, "localhost", "/hints",
                TlsMode.TERMINATE, null, "127.0.0.1:" + rawTarget.getLocalPort(), true, Instant.now()));
        routes.onServiceChange(null, new Service("s4", "t1", ServiceType.HTTP, "localhost", "/refuse",
                TlsMode.TERMINATE, null, "127.0.0.1:" + rawTarget.getLocalPort(), true, Instant.now()));
        routes.onServiceChange(null, new Service("s5", "t1", ServiceType.HTTP, "localhost", "/vanish",
                TlsMode.TERMINATE, null, "127.0.0.1:" + rawTarget.getLocalPort(), true, Instant.now()));
        processingTarget = new KeepAliveTarget();
        routes.onServiceChange(null, new Service("s6", "t1", ServiceType.HTTP, "localhost", "/processing-forever",
                TlsMode.TERMINATE, null, processingTarget.address(), true, Instant.now()));
        routes.onServiceChange(null, new Service("s7", "t1", ServiceType.HTTP, "localhost", "/reset-content",
                TlsMode.TERMINATE, null, processingTarget.address(), true, Instant.now()));
        TestCertificates.Issued issued = certificates.issue("localhost");
        ssl = SslContextBuilder.forServer(issued.keyPair().getPrivate(), issued.chain())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1))
                .build();
        server = listen(directProxy().build());
    }

    /** A proxy to the services of {@link #routes}, connecting to their targets directly. */
    private HttpProxy.Builder directProxy() {
        return HttpProxy.builder().routes(routes).opener(new DirectOpener(group));
    }

    /** As above, waiting {@code response} on a target and {@code send} on a visitor. */
    private HttpProxy proxyTimingOut(Duration response, Duration send) {
        return directProxy().responseTimeout(response).sendTimeout(send).build();
    }

    /** A TLS listener on 127.0.0.1 that hands {@code proxy} HTTP/2 or HTTP/1.1 as ALPN chose; closed after the test. */
    private Channel listen(HttpProxy proxy) throws InterruptedException {
        Channel listener = listen(group, proxy);
        listeners.add(listener);
        return listener;
    }

    /** As above, its connections on {@code loops}. */
    private Channel listen(EventLoopGroup loops, HttpProxy proxy) throws InterruptedException {
        return new ServerBootstrap().group(loops).channel(Transport.serverSocketChannel())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc()),
                                new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
                                    @Override
                                    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                                        if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                                            proxy.initHttp2(ctx.pipeline());
                                        } else {
                                            proxy.initHttp1(ctx.pipeline(), true);
                                        }
                                    }
                                });
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    /**
     * Answers /hints with 103 Early Hints, then 200 with a body of 5 bytes; /refuse at once with 417, its body
     * unread; then closes. A POST to /vanish it closes unanswered.
     */
    private void answerByPath() {
        answerEach(rawTarget, socket -> {
            String head = HttpHead.read(socket.getInputStream());
            if (head.startsWith("POST /vanish")) {
                return; // closed unanswered, the upload unread
            }
            String answer = head.startsWith("GET /hints")
                    ? "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
                            + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhints"
                    : "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 6\r\nConnection: close\r\n\r\nrefuse";
            OutputStream out = socket.getOutputStream();
            out.write(answer.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            // As web servers close: output first, then what the client still sends is read and dropped. A close
            // with the upload unread would reset the connection, and a reset may drop the answer before the proxy
            // reads it.
            socket.shutdownOutput();
            socket.getInputStream().skip(Long.MAX_VALUE);
        });
    }

    /** Answers each request with a head announcing 100000 bytes, sends 1000 of them and closes. */
    private void answerWithACutBody() {
        answerEach(cutTarget, socket -> {
            HttpHead.read(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[1000]);
            out.flush();
        });
    }

    /**
     * Answers each connection {@code target} accepts, reading with a 10 s timeout, until it is closed after the test;
     * a connection that fails (the proxy reset it, a visitor left) leaves the next ones answered. What an answer throws
     * besides, kept, fails the test after it ({@link #stop}).
     */
    private void answerEach(ServerSocket target, SocketAnswer answer) {
        while (!target.isClosed()) {
            Socket accepted;
            try {
                accepted = target.accept();
            } catch (IOException e) {
                return; // closed after the test
            }
            try (Socket socket = accepted) {
                socket.setSoTimeout(10_000);
                answer.answer(socket);
            } catch (IOException e) {
                // This connection failed: the next ones are still answered.
            } catch (RuntimeException | Error e) {
                targetFailures.add(e);
            }
        }
    }

    private interface SocketAnswer {
        void answer(Socket socket) throws IOException;
    }

    @AfterEach
    void stop() throws IOException, InterruptedException {
        target.sseEvents.add("END"); // ends an event stream that a test left open
        cutTarget.close();
        rawTarget.close();
        if (echoTarget != null) {
            echoTarget.close();
        }
        processingTarget.close();
        for (Channel listener : listeners) {
            listener.close().syncUninterruptibly();
        }
        target.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        // an answer still under way (reading what the proxy sends until it closes) could throw after the check below
        for (Thread thread : targetThreads) {
            if (!thread.join(Duration.ofSeconds(20))) {
                targetFailures.add(new AssertionError(thread.getName() + " still answering 20 s after the test"));
            }
        }
        if (!targetFailures.isEmpty()) {
            AssertionError failure = new AssertionError("a raw target's answer failed", targetFailures.poll());
            targetFailures.forEach(failure::addSuppressed);
            throw failure;
        }
    }

    /** A client of the listeners here, over TLS; shut down by the test. */
    private HttpClient client(HttpClient.Version version) {
        return HttpClient.newBuilder().version(version).sslContext(certificates.clientContext())
                .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** A request for {@code path} of the proxy set up before each test. */
    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("https://localhost:" + port(server) + path))
                .timeout(Duration.ofSeconds(20));
    }

    @Test
    void http2RequestsAreProxiedWithHttpsForwardedProto() throws Exception {
        int port = port(server);
        HttpClient client = client(HttpClient.Version.HTTP_2);
        try {
            HttpResponse<String> get = client.send(request("/hello?x=1").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(get.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.body()).contains("service=h2target", "uri=/hello?x=1", "h:x-forwarded-proto=https",
                    "h:host=localhost:" + port).doesNotContain("x-http2");

            HttpResponse<String> post = client.send(request("/upload")
                    .POST(HttpRequest.BodyPublishers.ofString("x".repeat(100_000))).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(post.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(post.body()).startsWith("bytes=100000 ");
        } finally {
            client.shutdownNow();
        }
    }

    /** The :path is routed as a request line's path is: one that may read as /cut's is refused, not sent to "/". */
    @Test
    void http2PathThatMayReadAsAnotherServicesGets400() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        try {
            for (String path : List.of("/CUT/x", "//cut/x", "/cut;a=b/x")) {
                HttpResponse<String> response = client.send(request(path).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(response.version()).isEqualTo(HttpClient.Version.HTTP_2);
                assertThat(response.statusCode()).as(path).isEqualTo(400);
                assertThat(response.body()).as(path).contains("another service on this host");
            }
        } finally {
            client.shutdownNow();
        }
    }

    @Test
    void interimAnswersOfTheTargetReachAnHttp2VisitorBeforeTheFinalOne() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        try {
            // Before: the 1xx went to the HTTP/2 codec in two parts, which it refuses, and the stream was reset.
            HttpResponse<String> get = client.send(request("/hints").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(get.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(get.statusCode()).isEqualTo(200);
            assertThat(get.body()).isEqualTo("hints");
        } finally {
            client.shutdownNow();
        }
    }

    /** A target's 205 with content reaches an HTTP/2 visitor as it reaches an HTTP/1 one: with a length of 0, empty. */
    @Test
    void aResetContentReachesAnHttp2VisitorWithoutTheContentItsTargetSent() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        try {
            HttpResponse<String> reset = client.send(request("/reset-content").build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(reset.version()).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(reset.statusCode()).isEqualTo(205);
            assertThat(reset.headers().firstValue("content-length")).hasValue("0");
            assertThat(reset.body()).isEmpty();
        } finally {
            client.shutdownNow();
        }
    }

    /**
     * A target that says 102 Processing for ever, each time within the proxy timeout (2 s here, 0.25 s apart: 1.75 s
     * to spare on a loaded machine): the HTTP/2 visitor is sent each 102, and 504 once
     * {@link HttpProxy#INTERIM_WAIT_TIMEOUTS} proxy timeouts have passed since its request; the target's connection
     * ends then. A raw client: Java's HttpClient takes 8 interim answers at most and then fails the stream itself.
     */
    @Test
    void aTargetThatSaysItIsProcessingForEverGetsAnHttp2Visitor504AfterTenProxyTimeouts() throws Exception {
        Channel timingOut = listen(proxyTimingOut(KeepAliveTarget.PACED_PROXY_TIMEOUT, Duration.ofSeconds(30)));
        Duration limit = KeepAliveTarget.PACED_PROXY_TIMEOUT.multipliedBy(HttpProxy.INTERIM_WAIT_TIMEOUTS);
        try (RawH2 h2 = RawH2.connect(port(timingOut), certificates.clientContext())) {
            long start = System.nanoTime();
            h2.get(1, "/processing-forever");
            List<String> statuses = h2.readStatusesUntilFinal(1, limit.plusSeconds(10));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(statuses).as("in %s", took).last().isEqualTo("504");
            assertThat(statuses.subList(0, statuses.size() - 1)).as("each 102 passed on")
                    .hasSizeGreaterThan(HttpProxy.INTERIM_WAIT_TIMEOUTS).containsOnly("102");
            assertThat(took).as("each 102 started the wait over").isGreaterThanOrEqualTo(limit);
            // While the visitor's connection is still open: its close does not end the target's.
            await().atMost(Duration.ofSeconds(10)).until(() -> processingTarget.ended() == 1);
        }
    }

    @Test
    void aWholeAnswerBeforeTheUploadEndsReachesTheHttp2VisitorAndStopsTheUpload() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        try {
            // Before: RST_STREAM(CANCEL) as soon as the answer was written, and the client threw it away.
            HttpResponse<String> post = client.send(request("/refuse")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[1 << 20])).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(417);
            assertThat(post.body()).isEqualTo("refuse");
        } finally {
            client.shutdownNow();
        }
    }

    /** No timer watches a locally answered request: awaiting the rest of its upload could hold the stream forever. */
    @Test
    void aLocalAnswerBeforeTheUploadEndsStopsTheUploadWithRstStreamNoError() throws Exception {
        try (RawH2 h2 = RawH2.connect(port(server), certificates.clientContext())) {
            h2.write(frame(0x1, 0x4, 1, headers(":method", "POST", ":scheme", "https", ":path", "/upload",
                    ":authority", "nowhere.test")));
            h2.write(frame(0x0, 0, 1, "part of the upload".getBytes(StandardCharsets.US_ASCII)));
            assertThat(h2.readUntilEndOfStream(1)).contains("nowhere.test");
            assertThat(h2.readResetCode(1)).as("RST_STREAM error code of stream 1").isEqualTo(0);
        }
    }

    @Test
    void anErrorPageThatEndsTheUploadStopsItWithRstStreamNoErrorSoTheClientKeepsThePage() throws Exception {
        try (RawH2 h2 = RawH2.connect(port(server), certificates.clientContext())) {
            // The target closes without an answer while the upload goes on: a 502 that must end the upload. Ended
            // with CANCEL, clients (curl, browsers) dropped the page for a failed request.
            h2.write(frame(0x1, 0x4, 1, headers(":method", "POST", ":scheme", "https", ":path", "/vanish",
                    ":authority", "localhost")));
            h2.write(frame(0x0, 0, 1, "part of the upload".getBytes(StandardCharsets.US_ASCII)));
            assertThat(h2.readUntilEndOfStream(1)).contains("could not get a response from the service");
            assertThat(h2.readResetCode(1)).as("RST_STREAM error code of stream 1").isEqualTo(0);
        }
    }

    @Test
    void badStreamIsResetHostFieldsAreCheckedAndAConnectionFailingBelowHttp2LogsNoStackTrace() throws Exception {
        int port = port(server);
        SSLContext context = certificates.clientContext();
        try (LogCapture netty = new LogCapture("io.netty", null);
             LogCapture proxyLog = new LogCapture(HttpProxy.class, Level.DEBUG);
             Socket raw = new Socket(InetAddress.getLoopbackAddress(), port);
             SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(raw, "localhost", port, true)) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(15_000);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).isEqualTo("h2");
            OutputStream out = socket.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(frame(0x4, 0, 0, new byte[0]));
            out.write(frame(0x4, 0x1, 0, new byte[0]));
            // Stream 1 carries a connection-specific header, which HTTP/2 forbids: a stream error.
            out.write(frame(0x1, 0x5, 1, headers(":method", "GET", ":scheme", "https", ":path", "/bad",
                    ":authority", "localhost", "connection", "close")));
            out.write(frame(0x1, 0x5, 3, headers(":method", "GET", ":scheme", "https", ":path", "/good",
                    ":authority", "localhost")));
            // :authority and a host field: one Host when they agree; refused (reset or 400) when they do not.
            out.write(frame(0x1, 0x5, 5, headers(":method", "GET", ":scheme", "https", ":path", "/same",
                    ":authority", "localhost", "host", "localhost")));
            out.write(frame(0x1, 0x5, 7, headers(":method", "GET", ":scheme", "https", ":path", "/other",
                    ":authority", "localhost", "host", "elsewhere.test")));
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            Set<Integer> reset = new HashSet<>();
            Map<Integer, Integer> statusByte = new HashMap<>();
            for (int i = 0; i < 100 && reset.size() + statusByte.size() < 4; i++) {
                int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(length);
                if (type == 0x3) {
                    reset.add(stream);
                }
                if (type == 0x1 && length > 0) {
                    statusByte.put(stream, payload[0] & 0xff);
                }
            }
            assertThat(reset).as("RST_STREAM for the bad stream").contains(1).doesNotContain(3, 5);
            // The first field of a response head is its :status, HPACK-indexed: 0x88 is 200, 0x8c is 400.
            assertThat(statusByte).as("status of streams 3, 5").containsEntry(3, 0x88).containsEntry(5, 0x88);
            assertThat(reset.contains(7) || statusByte.getOrDefault(7, 0) == 0x8c).as("stream 7 refused").isTrue();
            // Then bytes that are no TLS record: the connection fails below HTTP/2, and is closed.
            raw.getOutputStream().write("this is not TLS\r\n".repeat(10).getBytes(StandardCharsets.US_ASCII));
            raw.getOutputStream().flush();
            assertThat(readsToTheEnd(raw.getInputStream())).as("connection closed").isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> !proxyLog.messages(Level.DEBUG).isEmpty());
            assertThat(proxyLog.messages(Level.DEBUG).get(0)).contains("HTTP/2 connection from", "failed");
            assertThat(netty.events()).as("Netty log events with a stack trace")
                    .noneMatch(event -> event.getThrowableProxy() != null);
        }
    }

    /**
     * A client may open its streams with a window of 0 and grant it once it has the response head (HEADERS are not
     * flow-controlled): the request must go to the target without waiting for the window.
     */
    @Test
    void aStreamOpenedWithAZeroWindowGetsItsResponseHeadAndThenItsBodyOnceTheClientGrantsWindow() throws Exception {
        try (RawH2 h2 = connectionWithWindowsShut(port(server))) {
            h2.getHead200(1, "/zero-window");
            h2.openWindow(1, 65535);
            assertThat(h2.readUntilEndOfStream(1)).contains("uri=/zero-window");
        }
    }

    @Test
    void aStreamWhoseWindowStaysClosedIsResetAfterTheSendTimeoutAndTheOtherStreamsGoOn() throws Exception {
        assertStalledStreamIsResetAndOthersGoOn("/stalled");
    }

    /** The INFO line of that reset tells the send timeout as people read it. */
    @Test
    void aStalledStreamsResetIsLoggedWithTheSendTimeoutInSeconds() throws Exception {
        try (LogCapture log = new LogCapture(Exchange.class, Level.INFO)) {
            assertStalledStreamIsResetAndOthersGoOn("/stalled");

            assertThat(log.messages(Level.INFO)).filteredOn(m -> m.contains("took none of the rest of the response"))
                    .singleElement().asString().endsWith(" for 1 s: resetting its stream");
        }
    }

    /**
     * The proxy's own answers (here 404 for an unknown host: to a POST whose upload goes on, stopped with RST_STREAM
     * NO_ERROR once the answer is out, and to a GET) whose body a window that stays closed holds back: no exchange
     * watches them, so the send timeout resets their streams as it does a target's answer, and the connection's other
     * streams go on. Before, both streams stayed open for as long as the connection did.
     */
    @Test
    void localAnswersWhoseWindowStaysClosedAreResetAfterTheSendTimeoutAndTheOtherStreamsGoOn() throws Exception {
        try (RawH2 h2 = connectionWithWindowsShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)))) {
            h2.write(frame(0x1, 0x4, 1, headers(":method", "POST", ":scheme", "https", ":path", "/upload",
                    ":authority", "nowhere.test")));
            h2.write(frame(0x0, 0, 1, "part of the upload".getBytes(StandardCharsets.US_ASCII)));
            h2.write(frame(0x1, 0x5, 3, headers(":method", "GET", ":scheme", "https", ":path", "/",
                    ":authority", "nowhere.test")));
            Map<Integer, Integer> resets = new HashMap<>();
            for (int i = 0; i < 1000 && resets.size() < 2; i++) {
                RawH2.Frame frame = h2.next(); // a read timeout (10 s) fails the test
                if (frame.type() == 0x3) {
                    resets.put(frame.stream(), ByteBuffer.wrap(frame.payload()).getInt());
                }
            }
            // INTERNAL_ERROR, as a target's answer the visitor took none of
            assertThat(resets).as("RST_STREAM codes by stream").isEqualTo(Map.of(1, 2, 3, 2));
            h2.get(5, "/after");
            h2.openWindow(5, 65535);
            assertThat(h2.readUntilEndOfStream(5)).contains("uri=/after");
        }
    }

    /** The body is still coming from the target (the proxy waits on the visitor): the send timeout, not the proxy's. */
    @Test
    void aStreamWhoseWindowStaysClosedOnABodyLargerThanTheBuffersIsResetAfterTheSendTimeout() throws Exception {
        assertStalledStreamIsResetAndOthersGoOn("/download?2000000");
    }

    /**
     * Stream 1 gets 1 MiB of window at a time, with a pause of 3 s (1 s more than the proxy timeout of 2 s, less than
     * the send timeout) before each next one: while the visitor keeps the window shut the proxy waits on it, not on
     * the target, so the body of 4 MB arrives whole. Before, each pause counted against the proxy timeout and the
     * stream was reset at the first. Once the window opens the proxy waits on the target again: the 2 s leave it over
     * 1 s to answer on a loaded machine.
     */
    @Test
    void aStreamWhoseWindowOpensSlowlyButSteadilyGetsItsBodyWholeThoughItsPausesOutlastTheProxyTimeout()
            throws Exception {
        int size = 4_000_000;
        Duration proxyTimeout = KeepAliveTarget.PACED_PROXY_TIMEOUT;
        try (RawH2 h2 = downloadWithWindowShut(proxyTimingOut(proxyTimeout, Duration.ofSeconds(30)), size)) {
            Duration pause = proxyTimeout.plusSeconds(1);
            assertWhole(openWindowInSteps(h2, 1024 * 1024, pause, pause.multipliedBy(10)), size);
        }
    }

    /**
     * Stream 1 downloads 4 MB; its window opens 512 bytes at a time every 50 ms (about 10 KB/s) for 3 s, then wide.
     * Meanwhile the proxy's body is still coming and each of its writes to the stream is a piece of up to 64 KiB that
     * the visitor takes for longer than the send timeout (1 s), a bit at a time: it is reading, and must get the body
     * whole. Before, only a whole write done was progress over HTTP/2 (a stream has no outbound buffer to look at),
     * and the stream was reset within the first 3 s.
     */
    @Test
    void aStreamWhoseWindowOpensInSmallStepsIsNotResetWhileItTakesPartOfOneLongWrite() throws Exception {
        int size = 4_000_000;
        try (RawH2 h2 = downloadWithWindowShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)), size)) {
            Reading slow = openWindowInSmallSteps(h2, 512, Duration.ofSeconds(3));
            assertThat(slow.ended()).as("the slow part is less than the body").isFalse();
            // then wide open: the rest in one step
            assertWhole(slow.then(openWindowInSteps(h2, size, Duration.ZERO, Duration.ofSeconds(30))), size);
        }
    }

    /**
     * Stream 1 downloads 16 KB, which reaches the proxy whole at once (as the rest of a response often does), and its
     * window opens 256 bytes at a time every 50 ms (about 5 KB/s): the visitor takes the last write for about 3 s,
     * longer than the send timeout (1 s), a bit at a time, and must get the answer whole. Before, the rest of an
     * answer was given the send timeout from its last write done, and the stream was reset.
     */
    @Test
    void aStreamWhoseWindowOpensInSmallStepsGetsTheRestOfAnAnswerTheProxyHoldsWhole() throws Exception {
        int size = 16_000;
        try (RawH2 h2 = downloadWithWindowShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)), size)) {
            assertWhole(openWindowInSmallSteps(h2, 256, Duration.ofSeconds(10)), size);
        }
    }

    /**
     * Stream 1 downloads 4 MB, its window opened 512 bytes at a time every 50 ms for 2 s, then never again: taking
     * part of a write counted while it lasted, and once the visitor takes nothing the stream is reset after about
     * the send timeout (1 s) all the same.
     */
    @Test
    void aStreamThatStopsOpeningItsWindowAfterSmallStepsIsResetAfterTheSendTimeout() throws Exception {
        try (RawH2 h2 = downloadWithWindowShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)),
                4_000_000)) {
            openWindowInSmallSteps(h2, 512, Duration.ofSeconds(2));
            long stoppedAt = System.nanoTime();
            assertThat(h2.readResetCode(1)).as("stream 1 reset (RST_STREAM) within the read timeout (10 s)")
                    .isNotNegative();
            // The send timeout runs from the last bytes taken, sent just before the last read.
            assertThat(Duration.ofNanos(System.nanoTime() - stoppedAt)).isGreaterThan(Duration.ofMillis(800))
                    .isLessThan(Duration.ofSeconds(4));
        }
    }

    /** Stream 1 asks for {@code size} bytes through {@code proxy} on a connection whose windows are shut; head read. */
    private RawH2 downloadWithWindowShut(HttpProxy proxy, int size) throws Exception {
        RawH2 h2 = connectionWithWindowsShut(proxy);
        h2.getHead200(1, "/download?" + size);
        return h2;
    }

    private record Reading(long received, boolean ended) {
        /** What this and then {@code next} read. */
        Reading then(Reading next) {
            return new Reading(received + next.received, next.ended);
        }
    }

    private static void assertWhole(Reading reading, int size) {
        assertThat(reading.ended()).as("END_STREAM after %d bytes", reading.received()).isTrue();
        assertThat(reading.received()).isEqualTo(size);
    }

    /** A visitor reading slowly but steadily: {@link #openWindowInSteps} every 50 ms. */
    private static Reading openWindowInSmallSteps(RawH2 h2, int step, Duration duration) throws IOException {
        return openWindowInSteps(h2, step, Duration.ofMillis(50), duration);
    }

    /**
     * Opens stream 1's window by {@code step} bytes and reads them, again {@code every} so long, for {@code duration}
     * or until the stream ends; a reset of the stream fails the read.
     */
    private static Reading openWindowInSteps(RawH2 h2, int step, Duration every, Duration duration)
            throws IOException {
        long until = System.nanoTime() + duration.toNanos();
        long received = 0;
        boolean ended = false;
        for (int grant = 0; grant < 1000 && !ended && System.nanoTime() - until < 0; grant++) {
            if (grant > 0) {
                pause(every);
            }
            h2.openWindow(1, step);
            long before = received;
            for (int i = 0; i < 10_000 && received - before < step && !ended; i++) {
                RawH2.Data data = h2.readData(1);
                received += data.length();
                ended = data.endOfStream();
            }
        }
        return new Reading(received, ended);
    }

    /**
     * Stream 1 downloads 64 MB with 32 MiB of window and the client does not read its socket for a moment: the proxy's
     * connection to it is unwritable, and so is every stream of it. Stream 3 then asks /hints, whose 103, head and
     * body come from the target in one read; the client reads on 200 ms later: stream 3 must get its answer whole,
     * though the send timeout is 1 s. Before, no write of stream 3 started the send clock (its channel was
     * unwritable), so the answer whole at the proxy was timed from a clock of 0 and its stream reset at once.
     */
    @Test
    void aSmallAnswerOnAStreamWhoseConnectionAnotherStreamFilledReachesTheVisitorWhole() throws Exception {
        try (RawH2 h2 = connectionWithWindowsShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)))) {
            h2.get(1, "/download?64000000");
            h2.openWindow(1, 32 * 1024 * 1024);
            pause(Duration.ofSeconds(1)); // the client does not read: the proxy's buffers fill
            h2.get(3, "/hints");
            h2.openWindow(3, 65535);
            pause(Duration.ofMillis(200)); // the answer reaches the proxy while its connection is unwritable
            assertThat(h2.readUntilEndOfStream(3, 5000)).isEqualTo("hints");
        }
    }

    /**
     * Stream 1 is a long poll (server-sent events) whose head came; stream 3 then downloads 64 MB with 32 MiB of
     * window, and the client does not read its socket for 3 s: the proxy's connection is unwritable, and so is
     * stream 1's channel, though nothing of stream 1 is pending. Its target sends nothing for those 3 s (more than the
     * send timeout of 1 s, less than the proxy timeout of 30 s), then an event and the end: stream 1 must not be
     * reset, and gets the event. Before, its unwritable channel counted as its visitor holding it, and the stream was
     * reset after the send timeout.
     */
    @Test
    void aLongPollOnAStreamWhoseConnectionAnotherStreamFilledIsNotResetAfterTheSendTimeout() throws Exception {
        try (RawH2 h2 = connectionWithWindowsShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)))) {
            h2.getHead200(1, "/sse");
            h2.get(3, "/download?64000000");
            h2.openWindow(3, 32 * 1024 * 1024);
            pause(Duration.ofSeconds(3)); // the client does not read, the target of stream 1 is silent
            target.sseEvents.add("late");
            target.sseEvents.add("END");
            h2.openWindow(1, 65535);
            assertThat(h2.readUntilEndOfStream(1, 5000)).isEqualTo("data: late\n\n");
        }
    }

    /**
     * Stream 1 is an event stream whose target sends its head and then nothing; stream 3 downloads 64 MB that the
     * client reads in bursts of 1 MiB, 100 ms apart, so the proxy's connection turns unwritable and writable again
     * many times a second (Netty tells every stream of it). Stream 1 must be reset after the proxy timeout of 2 s
     * (its target silent; the send timeout is 30 s) while stream 3 still moves, within the 50 bursts (5 s at least).
     * Before, each writability change restarted stream 1's wait on its target, and it was never cut while the
     * connection was busy. The proxy timeout is stream 3's too: 2 s leave its target over 1 s to answer each read on
     * a loaded machine.
     */
    @Test
    void aSilentTargetIsCutAfterTheProxyTimeoutThoughAnotherStreamKeepsTheConnectionBusy() throws Exception {
        try (RawH2 h2 = connectionWithWindowsShut(proxyTimingOut(KeepAliveTarget.PACED_PROXY_TIMEOUT,
                Duration.ofSeconds(30)))) {
            h2.getHead200(1, "/sse");
            h2.get(3, "/download?64000000");
            h2.openWindow(3, 64_000_000);
            boolean reset = false;
            long received = 0;
            for (int burst = 0; burst < 50 && !reset; burst++) {
                pause(Duration.ofMillis(100));
                long until = received + 1024 * 1024;
                for (int i = 0; i < 1000 && received < until && !reset; i++) {
                    RawH2.Frame frame = h2.next();
                    if (frame.stream() == 3 && frame.type() == 0x0) {
                        received += frame.payload().length;
                    }
                    reset = frame.stream() == 1 && frame.type() == 0x3;
                }
            }
            assertThat(reset).as("stream 1 reset while stream 3 moved (%d bytes of it)", received).isTrue();
        }
    }

    /**
     * Stream 1 is an event stream whose target sends its head, one event, then nothing: while the proxy only waits on
     * the target, the timer of the body costs nothing until the proxy timeout (30 s) could run out. Before, it looked
     * at the stream every second (about 3 times here).
     */
    @Test
    void anEventStreamWhoseTargetIsSilentCostsNoTimerTaskBeforeTheProxyTimeout() throws Exception {
        HttpProxy proxy = proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1));
        try (RawH2 h2 = eventStreamPastItsFirstEvent(proxy)) {
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.responseBodyChecks() == 0);

            target.sseEvents.add("late");
            target.sseEvents.add("END");
            assertThat(h2.readUntilEndOfStream(1)).isEqualTo("data: late\n\n");
        }
    }

    /**
     * After 2 s of silence on stream 1 (the timer set for the rest of the proxy timeout, 30 s), its target sends an
     * event of 4 MiB, far more than the stream's window (64 KiB), which the client never opens: the pending write
     * starts the polling, and the stream is reset after about the send timeout (1 s), long before the proxy timeout.
     */
    @Test
    void aStreamWhoseWindowStaysClosedAfterASilentSpellIsResetAfterTheSendTimeout() throws Exception {
        HttpProxy proxy = proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1));
        try (RawH2 h2 = eventStreamPastItsFirstEvent(proxy)) {
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.responseBodyChecks() == 0);

            long stalledFrom = System.nanoTime();
            target.sseEvents.add("x".repeat(4 * 1024 * 1024));
            assertThat(h2.readResetCode(1)).as("stream 1 reset (RST_STREAM) within the read timeout (10 s)")
                    .isNotNegative();
            assertThat(Duration.ofNanos(System.nanoTime() - stalledFrom)).isGreaterThanOrEqualTo(Duration.ofSeconds(1))
                    .isLessThan(Duration.ofSeconds(10));
        }
    }

    /** Stream 1 asks for /sse through {@code proxy}; its head and the target's first event read. */
    private RawH2 eventStreamPastItsFirstEvent(HttpProxy proxy) throws Exception {
        RawH2 h2 = RawH2.connect(port(listen(proxy)), certificates.clientContext());
        h2.getHead200(1, "/sse");
        target.sseEvents.add("first");
        assertThat(h2.readUntilData(1)).isEqualTo("data: first\n\n");
        return h2;
    }

    /** As below, to a listener of {@code proxy}. */
    private RawH2 connectionWithWindowsShut(HttpProxy proxy) throws Exception {
        return connectionWithWindowsShut(port(listen(proxy)));
    }

    /** A connection whose streams get no window until their own WINDOW_UPDATE; its own window 1 GiB. */
    private RawH2 connectionWithWindowsShut(int port) throws IOException {
        RawH2 h2 = RawH2.connect(port, certificates.clientContext());
        // SETTINGS_INITIAL_WINDOW_SIZE (0x4) = 0
        h2.write(frame(0x4, 0, 0, new byte[] {0, 0x4, 0, 0, 0, 0}));
        h2.openWindow(0, 1024 * 1024 * 1024);
        return h2;
    }

    /** A deliberate stall of the visitor (or of the target), not a wait for a condition. */
    private static void pause(Duration pause) {
        await().pollDelay(pause).atMost(pause.plusSeconds(5)).until(() -> true);
    }

    /**
     * Stream 1 asks for {@code path} with a window of 0 that the client never opens: the proxy gets the target's
     * answer (whole, when it is small) but can send none of its body. It must end that stream after the send timeout
     * (1 s; as nginx's send_timeout does), though the proxy timeout is 30 s, and only that one: stream 3, opened
     * meanwhile, and stream 5, opened after, are answered whole on the same connection.
     */
    private void assertStalledStreamIsResetAndOthersGoOn(String path) throws Exception {
        try (RawH2 h2 = connectionWithWindowsShut(proxyTimingOut(Duration.ofSeconds(30), Duration.ofSeconds(1)))) {
            h2.getHead200(1, path);
            h2.get(3, "/moving");
            h2.openWindow(3, 65535);
            assertThat(h2.readUntilEndOfStream(3)).contains("uri=/moving");
            assertThat(h2.readResetCode(1)).as("stream 1 reset (RST_STREAM) within the read timeout").isNotNegative();
            h2.get(5, "/after");
            h2.openWindow(5, 65535);
            assertThat(h2.readUntilEndOfStream(5)).contains("uri=/after");
        }
    }

    /**
     * The header deadline counts from the end of the TLS handshake, before the client's preface: 3 s leave a loaded
     * machine time to send it and the PING before the close, which the read timeout (10 s) still waits for.
     */
    @Test
    void http2ConnectionThatOpensNoStreamIsClosedWithGoAwayAtTheHeaderDeadline() throws Exception {
        Channel strict = listen(directProxy().headerTimeout(Duration.ofSeconds(3)).build());
        try (RawH2 h2 = RawH2.connect(port(strict), certificates.clientContext())) {
            // The preface and SETTINGS, even a PING, but no HEADERS: no request.
            h2.write(frame(0x6, 0, 0, new byte[8]));
            assertThat(h2.readUntilClosed()).as("closed").isTrue();
            assertThat(h2.frameTypes).as("frames from the server").contains(0x7);
        }
    }

    @Test
    void idleHttp2ConnectionIsClosedWithGoAwayButNotWhileAStreamIsOpen() throws Exception {
        Channel strict = listen(directProxy().headerTimeout(Duration.ofSeconds(10)).idleTimeout(Duration.ofSeconds(1))
                .build());
        int port = port(strict);
        try (RawH2 busy = RawH2.connect(port, certificates.clientContext());
             RawH2 idle = RawH2.connect(port, certificates.clientContext())) {
            busy.get(1, "/sse");
            target.sseEvents.add("first");
            assertThat(busy.readUntilData(1)).contains("data: first");
            idle.get(1, "/one");
            assertThat(idle.readUntilEndOfStream(1)).contains("uri=/one");

            assertThat(idle.readUntilClosed()).as("idle connection closed").isTrue();
            assertThat(idle.frameTypes).as("frames from the server").contains(0x7);

            // The event stream has been open since before the other connection's last request: still served.
            target.sseEvents.add("still-here");
            target.sseEvents.add("END");
            assertThat(busy.readUntilEndOfStream(1)).contains("data: still-here");
            assertThat(busy.readUntilClosed()).as("closed once idle").isTrue();
        }
    }

    @Test
    void rapidResetIsCutOffWithGoAwayAfterBoundedWork() throws Exception {
        AtomicInteger opened = new AtomicInteger();
        DirectOpener direct = new DirectOpener(group);
        Channel counted = listen(HttpProxy.builder().routes(routes).opener((service, handler) -> {
            opened.incrementAndGet();
            return direct.open(service, handler);
        }).build());
        int streams = 5000;
        try (RawH2 h2 = RawH2.connect(port(counted), certificates.clientContext())) {
            // CVE-2023-44487: each request cancelled as soon as it is sent, so that none counts as open for long.
            ByteArrayOutputStream burst = new ByteArrayOutputStream();
            byte[] cancel = {0, 0, 0, 0x8};
            for (int i = 0; i < streams; i++) {
                int stream = 1 + 2 * i;
                burst.writeBytes(frame(0x1, 0x5, stream, headers(":method", "GET", ":scheme", "https",
                        ":path", "/rapid-" + i, ":authority", "localhost")));
                burst.writeBytes(frame(0x3, 0, stream, cancel));
            }
            try {
                h2.write(burst.toByteArray());
            } catch (IOException e) {
                // Closed before the whole burst went: as expected.
            }
            assertThat(h2.readUntilClosed()).as("connection closed").isTrue();
            assertThat(h2.frameTypes).as("frames from the server").contains(0x7);
        }
        assertThat(opened.get()).as("upstream streams opened for %d cancelled requests", streams)
                .isLessThanOrEqualTo(250);
    }

    /**
     * The credit of an HTTP/2 upload comes back to the visitor when the proxy reads on after a write to the target
     * completes: Netty's stream channel writes that WINDOW_UPDATE, but while it has a read pending it leaves the flush
     * to the connection's next read, so a read on from a task (the write's listener) left it unflushed, and a visitor
     * that had used up its window waited for ever (seen as a 20 s timeout of a 100 kB POST under load).
     * One event loop for both sides, as with a tunnel's stream, so that the stream's writes complete as they are
     * flushed; the target's stream holds the second piece of the body until the test lets it go.
     */
    @Test
    void creditOfAnUploadComesBackWhenTheTargetsStreamTakesAPieceItHeld() throws Exception {
        EventLoopGroup one = Transport.newEventLoopGroup(1, "h2-one-loop");
        HeldWrites held = new HeldWrites();
        DirectOpener direct = new DirectOpener(one);
        Channel listener = listen(one, HttpProxy.builder().routes(routes).opener((service, handler) -> {
            Promise<Channel> opened = ImmediateEventExecutor.INSTANCE.newPromise();
            direct.open(service, handler).addListener(f -> {
                if (f.isSuccess()) {
                    Channel upstream = (Channel) f.getNow();
                    upstream.pipeline().addFirst(held);
                    opened.setSuccess(upstream);
                } else {
                    opened.setFailure(f.cause());
                }
            });
            return opened;
        }).build());
        try (RawH2 h2 = RawH2.connect(port(listener), certificates.clientContext())) {
            // the SETTINGS exchange over first: reading an acknowledgement later would flush the connection
            h2.readSettingsAndAck();
            h2.write(frame(0x1, 0x4, 1, headers(":method", "POST", ":scheme", "https", ":path", "/upload",
                    ":authority", "localhost", "content-length", "100000")));
            await().atMost(Duration.ofSeconds(10)).until(() -> held.held() == 1);
            held.releaseAndHoldTheSecondNext();
            await().atMost(Duration.ofSeconds(10)).until(() -> held.releases() == 1);
            // two pieces in one go: the first goes through as it is flushed, the second is held
            h2.write(window(1, 32_768, false));
            await().atMost(Duration.ofSeconds(10)).until(() -> held.held() == 2);
            held.releaseAndHoldTheSecondNext();

            assertThat(h2.readWindowUpdates(1, 32_768)).as("credit given back to stream 1").isEqualTo(32_768);
        } finally {
            listener.close().syncUninterruptibly();
            one.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    /** {@code length} body bytes on {@code stream} in DATA frames of at most 16384 bytes, the last one ending it. */
    private static byte[] window(int stream, int length, boolean end) {
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        for (int sent = 0; sent < length; sent += 16_384) {
            int size = Math.min(16_384, length - sent);
            frames.writeBytes(frame(0x0, end && sent + size == length ? 0x1 : 0, stream, new byte[size]));
        }
        return frames.toByteArray();
    }

    /**
     * First in a target's stream: holds the stream's writes of bytes (an empty one passes) while holding; on release
     * writes them on, lets the next one through and holds again from the one after it.
     */
    @ChannelHandler.Sharable
    private static final class HeldWrites extends ChannelOutboundHandlerAdapter {
        private final List<Object[]> writes = new ArrayList<>();
        private volatile int held;
        private volatile int releases;
        private int passes;
        private ChannelHandlerContext context;

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            context = ctx;
            if (!(msg instanceof ByteBuf buf) || !buf.isReadable()) {
                ctx.write(msg, promise);
            } else if (passes > 0) {
                passes--;
                ctx.write(msg, promise);
            } else {
                writes.add(new Object[] {msg, promise});
                held++;
            }
        }

        /** How many writes were held so far. */
        int held() {
            return held;
        }

        /** How many releases were done, their writes flushed. */
        int releases() {
            return releases;
        }

        void releaseAndHoldTheSecondNext() {
            context.executor().execute(() -> {
                passes = 1;
                for (Object[] write : writes) {
                    context.write(write[0], (ChannelPromise) write[1]);
                }
                writes.clear();
                context.flush();
                releases++;
            });
        }
    }

    private static int port(Channel listener) {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /**
     * An HTTP/2 connection written by hand over TLS with ALPN h2: the preface and an empty SETTINGS go out on
     * connect, the server's SETTINGS are acknowledged as they come; requests are GETs on odd stream ids.
     */
    private static final class RawH2 implements AutoCloseable {
        private final SSLSocket socket;
        private final DataInputStream in;
        private final OutputStream out;
        /** Types of the frames read so far. */
        final List<Integer> frameTypes = new ArrayList<>();
        private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);

        private RawH2(SSLSocket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        static RawH2 connect(int port, SSLContext context) throws IOException {
            SSLSocket socket = (SSLSocket) context.getSocketFactory()
                    .createSocket(InetAddress.getLoopbackAddress(), port);
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            socket.setSSLParameters(parameters);
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            assertThat(socket.getApplicationProtocol()).isEqualTo("h2");
            RawH2 h2 = new RawH2(socket);
            h2.out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            h2.write(frame(0x4, 0, 0, new byte[0]));
            return h2;
        }

        void write(byte[] frame) throws IOException {
            out.write(frame);
            out.flush();
        }

        void get(int stream, String path) throws IOException {
            write(frame(0x1, 0x5, stream, headers(":method", "GET", ":scheme", "https", ":path", path,
                    ":authority", "localhost")));
        }

        /** GETs {@code path} on {@code stream} and reads its response head, which must say 200. */
        void getHead200(int stream, String path) throws IOException {
            get(stream, path);
            assertThat(readUntilHeaders(stream)).as(":status 200, HPACK-indexed").isEqualTo(0x88);
        }

        /** A WINDOW_UPDATE: {@code stream} (0 for the connection) may get {@code bytes} more. */
        void openWindow(int stream, int bytes) throws IOException {
            write(frame(0x8, 0, stream, ByteBuffer.allocate(4).putInt(bytes).array()));
        }

        /**
         * The HEADERS that end {@code stream} (its trailers when it sent DATA before), decoded. HPACK needs every
         * header block of the connection decoded in order: use only this method to read a connection's HEADERS.
         */
        Http2Headers readUntilTrailers(int stream) throws IOException {
            Http2Headers trailers = readUntilEnd(stream);
            if (trailers == null) {
                throw new IOException("stream " + stream + " ended by DATA, without trailers");
            }
            return trailers;
        }

        /**
         * Reads {@code stream} to its end: the HEADERS that end it, decoded, or null when DATA ended it. As
         * {@link #readUntilTrailers}, the only way to read a connection's HEADERS.
         */
        Http2Headers readUntilEnd(int stream) throws IOException {
            for (int i = 0; i < 1000; i++) {
                Frame frame = next();
                if (frame.type == 0x3 && frame.stream == stream) {
                    throw new IOException("stream " + stream + " was reset");
                }
                if (frame.type == 0x0 && frame.stream == stream && (frame.flags & 0x1) != 0) {
                    return null;
                }
                if (frame.type != 0x1) {
                    continue;
                }
                try {
                    Http2Headers headers = decoder.decodeHeaders(frame.stream, Unpooled.wrappedBuffer(frame.payload));
                    if (frame.stream == stream && (frame.flags & 0x1) != 0) {
                        return headers;
                    }
                } catch (Http2Exception e) {
                    throw new IOException(e);
                }
            }
            throw new IOException("no HEADERS ending stream " + stream + " in 1000 frames");
        }

        /**
         * The :status of each HEADERS of {@code stream}, up to the first that is not 1xx, or what came within
         * {@code within}. As {@link #readUntilTrailers}, the only way to read a connection's HEADERS.
         */
        List<String> readStatusesUntilFinal(int stream, Duration within) throws IOException {
            List<String> statuses = new ArrayList<>();
            long until = System.nanoTime() + within.toNanos();
            while (System.nanoTime() - until < 0) {
                Frame frame = next();
                if (frame.type == 0x3 && frame.stream == stream) {
                    throw new IOException("stream " + stream + " was reset after " + statuses);
                }
                if (frame.type != 0x1) {
                    continue;
                }
                try {
                    Http2Headers headers = decoder.decodeHeaders(frame.stream, Unpooled.wrappedBuffer(frame.payload));
                    if (frame.stream == stream) {
                        statuses.add(String.valueOf(headers.status()));
                        if (!statuses.getLast().startsWith("1")) {
                            return statuses;
                        }
                    }
                } catch (Http2Exception e) {
                    throw new IOException(e);
                }
            }
            return statuses;
        }

        /** The first byte of the next HEADERS of {@code stream} (its :status, HPACK-indexed when common). */
        int readUntilHeaders(int stream) throws IOException {
            for (int i = 0; i < 1000; i++) {
                Frame frame = next();
                if (frame.type == 0x1 && frame.stream == stream && frame.payload.length > 0) {
                    return frame.payload[0] & 0xff;
                }
                if (frame.type == 0x3 && frame.stream == stream) {
                    throw new IOException("stream " + stream + " was reset");
                }
            }
            throw new IOException("no HEADERS on stream " + stream + " in 1000 frames");
        }

        /** The next DATA of {@code stream}, as text. */
        String readUntilData(int stream) throws IOException {
            for (int i = 0; i < 1000; i++) {
                Frame frame = next();
                if (frame.type == 0x0 && frame.stream == stream && frame.payload.length > 0) {
                    return new String(frame.payload, StandardCharsets.UTF_8);
                }
            }
            throw new IOException("no DATA on stream " + stream + " in 1000 frames");
        }

        /** Reads until the server's SETTINGS (acknowledged as they come) and its acknowledgement of ours came. */
        void readSettingsAndAck() throws IOException {
            boolean theirs = false;
            boolean ack = false;
            for (int i = 0; i < 100 && !(theirs && ack); i++) {
                Frame frame = next();
                if (frame.type == 0x4) {
                    ack |= (frame.flags & 0x1) != 0;
                    theirs |= (frame.flags & 0x1) == 0;
                }
            }
        }

        /**
         * The credit that WINDOW_UPDATEs give {@code stream}, read until it reaches {@code wanted} or nothing comes for
         * the read timeout.
         */
        long readWindowUpdates(int stream, long wanted) throws IOException {
            long credit = 0;
            try {
                for (int i = 0; i < 1000 && credit < wanted; i++) {
                    Frame frame = next();
                    if (frame.type == 0x8 && frame.stream == stream) {
                        credit += ByteBuffer.wrap(frame.payload).getInt() & 0x7fffffff;
                    }
                }
            } catch (SocketTimeoutException e) {
                // what came so far
            }
            return credit;
        }

        /** The DATA of {@code stream} until its END_STREAM flag, as text. */
        String readUntilEndOfStream(int stream) throws IOException {
            return readUntilEndOfStream(stream, 1000);
        }

        /** As above, reading at most {@code frames} frames (of any stream). */
        String readUntilEndOfStream(int stream, int frames) throws IOException {
            ByteArrayOutputStream data = new ByteArrayOutputStream();
            for (int i = 0; i < frames; i++) {
                Frame frame = next();
                if (frame.stream != stream) {
                    continue;
                }
                if (frame.type == 0x0) {
                    data.writeBytes(frame.payload);
                }
                if ((frame.type == 0x0 || frame.type == 0x1) && (frame.flags & 0x1) != 0) {
                    return data.toString(StandardCharsets.UTF_8);
                }
                if (frame.type == 0x3) {
                    throw new IOException("stream " + stream + " was reset");
                }
            }
            throw new IOException("no end of stream " + stream + " in " + frames + " frames");
        }

        record Data(int length, boolean endOfStream) {
        }

        /** The next DATA of {@code stream}: its length and whether it ends the stream; a reset of it throws. */
        Data readData(int stream) throws IOException {
            for (int i = 0; i < 1000; i++) {
                Frame frame = next();
                if (frame.stream != stream) {
                    continue;
                }
                if (frame.type == 0x0) {
                    return new Data(frame.payload.length, (frame.flags & 0x1) != 0);
                }
                if (frame.type == 0x3) {
                    throw new IOException("stream " + stream + " was reset");
                }
            }
            throw new IOException("no DATA on stream " + stream + " in 1000 frames");
        }

        /** The error code of the next RST_STREAM of {@code stream}; -1 when none comes within the read timeout. */
        int readResetCode(int stream) throws IOException {
            try {
                for (int i = 0; i < 1000; i++) {
                    Frame frame = next();
                    if (frame.type == 0x3 && frame.stream == stream) {
                        return ByteBuffer.wrap(frame.payload).getInt();
                    }
                }
            } catch (SocketTimeoutException e) {
                // none came
            }
            return -1;
        }

        /** Reads frames until the server closes (true), or until nothing comes for the read timeout (false). */
        boolean readUntilClosed() throws IOException {
            try {
                for (int i = 0; i < 1000; i++) {
                    next();
                }
                return false;
            } catch (SocketTimeoutException e) {
                return false;
            } catch (IOException e) {
                return true;
            }
        }

        private record Frame(int type, int flags, int stream, byte[] payload) {
        }

        private Frame next() throws IOException {
            int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7fffffff;
            byte[] payload = in.readNBytes(length);
            frameTypes.add(type);
            if (type == 0x4 && (flags & 0x1) == 0) {
                write(frame(0x4, 0x1, 0, new byte[0]));
            }
            return new Frame(type, flags, stream, payload);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** Reads until EOF or a reset (true); false after 100000 bytes. */
    private static boolean readsToTheEnd(InputStream in) {
        try {
            for (int i = 0; i < 100_000; i++) {
                if (in.read() == -1) {
                    return true;
                }
            }
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Over HTTP/2 as over HTTP/1.1, who signed in is the proxy's to say: not in the head, not in trailers. */
    @Test
    void identityHeadersOfAnHttp2VisitorReachTheTargetNeitherInTheHeadNorInTrailers() throws Exception {
        echoService("/echo");
        try (RawH2 h2 = RawH2.connect(port(server), certificates.clientContext())) {
            h2.write(frame(0x1, 0x4, 1, headers(":method", "POST", ":scheme", "https", ":path", "/echo/x",
                    ":authority", "localhost", "x-picotunnel-user", "admin", "x-picotunnel-user", "root",
                    "x_picotunnel_email", "admin@example.com", "x-kept", "head")));
            h2.write(frame(0x0, 0, 1, "hi".getBytes(StandardCharsets.US_ASCII)));
            h2.write(frame(0x1, 0x5, 1, headers("x-picotunnel-user", "mallory", "x-picotunnel-email",
                    "mallory@example.com", "x-forwarded-for", "6.6.6.6", "x-kept", "trailer")));
            String received = h2.readUntilEndOfStream(1);
            // Before the trailers were stripped: 'x-picotunnel-user: mallory' and the rest after the last chunk.
            assertThat(received).contains("POST /echo/x", "x-kept: head", "x-kept: trailer");
            assertThat(received).doesNotContain("picotunnel", "admin", "root", "mallory", "6.6.6.6");
        }
    }

    /**
     * Trailer fields, with a value each, that must not reach a target (a target that merges trailers into the head
     * would take them after the proxy's checks), as HTTP/2 can carry them (it forbids the connection-specific ones,
     * and its trailers factory rejects Content-Length): the method overrides, the forwarding and identity headers the
     * proxy sets, the gate's inputs and fields RFC 9110 6.5.1 keeps out of trailers. Their names and values go in
     * lower case (HTTP/2's names must be), so that none can be found in what the target gets.
     */
    private static final List<String> FORBIDDEN_TRAILERS = List.of(
            "x-http-method-override", "delete", "x-http-method", "put", "x-method-override", "patch",
            "x_http_method_override", "options",
            "x-forwarded-for", "6.6.6.6", "x-forwarded-host", "evil.test", "x-forwarded-proto", "gopher",
            "x-forwarded-port", "6666", "x-real-ip", "6.6.6.7", "forwarded", "for=6.6.6.8", "true-client-ip", "6.6.6.9",
            "x-picotunnel-user", "mallory", "x-picotunnel-email", "mallory@example.com",
            "host", "evil-host.test", "authorization", "bearer stolen-token", "cookie", "session=stolen-cookie",
            "set-cookie", "planted=1", "origin", "https://evil-origin.test", "sec-fetch-site", "same-origin",
            "sec-fetch-mode", "navigate", "sec-fetch-dest", "document", "sec-fetch-user", "?1",
            "content-type", "text/evil", "content-encoding", "gzip", "range", "bytes=0-1", "if-none-match", "\"etag\"",
            "cache-control", "no-transform", "max-forwards", "0", "expect", "100-continue");
    /** The one trailer field besides that the target must get. */
    private static final String ALLOWED_TRAILER = "x-allowed";

    /**
     * The HTTP/2 visitor's trailing HEADERS lose each field of {@link #FORBIDDEN_TRAILERS}, as an HTTP/1.1 visitor's
     * trailers do (below): they come to the exchange as the request's last content, and are stripped there.
     */
    @Test
    void fieldsTheProxyControlsInTheHeadDoNotReachTheTargetInAnHttp2VisitorsTrailers() throws Exception {
        echoService("/echo");
        try (RawH2 h2 = RawH2.connect(port(server), certificates.clientContext())) {
            h2.write(frame(0x1, 0x4, 1, headers(":method", "POST", ":scheme", "https", ":path", "/echo/x",
                    ":authority", "localhost")));
            h2.write(frame(0x0, 0, 1, "hi".getBytes(StandardCharsets.US_ASCII)));
            List<String> trailers = new ArrayList<>(FORBIDDEN_TRAILERS);
            trailers.addAll(List.of(ALLOWED_TRAILER, "kept"));
            h2.write(frame(0x1, 0x5, 1, headers(trailers.toArray(String[]::new))));
            assertOnlyTheAllowedTrailerReachedTheTarget(h2.readUntilEndOfStream(1));
        }
    }

    /**
     * An HTTP/1.1 visitor's chunked trailers lose each field of {@link #FORBIDDEN_TRAILERS} and the hop-by-hop
     * ones HTTP/2 cannot carry: those the trailers' Connection and the head's name too.
     */
    @Test
    void fieldsTheProxyControlsInTheHeadDoNotReachTheTargetInAnHttp1VisitorsChunkedTrailers() throws Exception {
        List<String> fields = new ArrayList<>(FORBIDDEN_TRAILERS);
        fields.addAll(List.of("connection", "x-trailer-named", "x-trailer-named", "hop", "x-head-named", "head-hop",
                "keep-alive", "timeout=666", "upgrade", "websocket", "proxy-authorization", "basic ed8y",
                "te", "deflate", "content-length", "99", "content_length", "98", ALLOWED_TRAILER, "kept"));
        StringBuilder trailers = new StringBuilder();
        for (int i = 0; i < fields.size(); i += 2) {
            trailers.append(fields.get(i)).append(": ").append(fields.get(i + 1)).append("\r\n");
        }
        echoService("/echo");
        try (SSLSocket socket = (SSLSocket) certificates.clientContext().getSocketFactory()
                     .createSocket(InetAddress.getLoopbackAddress(), port(server))) {
            socket.setSoTimeout(15_000);
            socket.getOutputStream().write(("POST /echo/x HTTP/1.1\r\nHost: localhost\r\n"
                    + "Connection: close, X-Head-Named\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n"
                    + trailers + "\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(response).startsWith("HTTP/1.1 200");
            assertOnlyTheAllowedTrailerReachedTheTarget(response.substring(response.indexOf("\r\n\r\n") + 4));
        }
    }

    /**
     * A service at {@code path} whose target answers one request with its bytes ({@link #echoRequest}); closed after
     * the test.
     */
    private void echoService(String path) throws IOException {
        ServerSocket echo = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        echoTarget = echo;
        targetThreads.add(Thread.ofVirtual().name("echo-target").start(() -> echoRequest(echo)));
        routes.onServiceChange(null, new Service("s-echo", "t1", ServiceType.HTTP, "localhost", path,
                TlsMode.TERMINATE, null, "127.0.0.1:" + echo.getLocalPort(), true, Instant.now()));
    }

    /** {@code received}, a chunked request as its target got it, has the allowed trailer and no other. */
    private static void assertOnlyTheAllowedTrailerReachedTheTarget(String received) {
        assertThat(received).startsWith("POST /echo/x HTTP/1.1");
        String trailers = received.substring(received.indexOf("\r\n0\r\n") + 5);
        List<String> names = trailers.lines().filter(line -> !line.isEmpty())
                .map(line -> line.substring(0, Math.max(0, line.indexOf(':'))).toLowerCase(Locale.ROOT)).toList();
        assertThat(names).as(trailers).containsExactly(ALLOWED_TRAILER);
        for (int i = 1; i < FORBIDDEN_TRAILERS.size(); i += 2) {
            assertThat(trailers).as(FORBIDDEN_TRAILERS.get(i - 1)).doesNotContain(FORBIDDEN_TRAILERS.get(i));
        }
    }

    /** Reads one request (to the end of a chunked body and its trailers) and answers with its bytes as the body. */
    private static void echoRequest(ServerSocket echo) {
        try (Socket socket = echo.accept()) {
            socket.setSoTimeout(10_000);
            ByteArrayOutputStream request = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            while (request.size() < 65_536 && !endOfChunkedRequest(request.toString(StandardCharsets.ISO_8859_1))) {
                int n = socket.getInputStream().read(buffer);
                if (n < 0) {
                    break;
                }
                request.write(buffer, 0, n);
            }
            OutputStream out = socket.getOutputStream();
            out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + request.size() + "\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            request.writeTo(out);
            out.flush();
        } catch (IOException e) {
            // the test fails on what it did not get
        }
    }

    private static boolean endOfChunkedRequest(String text) {
        int head = text.indexOf("\r\n\r\n");
        int last = head < 0 ? -1 : text.indexOf("\r\n0\r\n", head);
        return last >= 0 && (text.length() == last + 7 && text.endsWith("\r\n")
                || text.length() > last + 7 && text.endsWith("\r\n\r\n"));
    }

    /**
     * The trailers of a target's chunked response come to an HTTP/2 visitor as the stream's last HEADERS; a response
     * with a length has none (its decoder's empty trailers add no HEADERS): its DATA ends the stream.
     */
    @Test
    void theTrailersOfAChunkedResponseReachAnHttp2Visitor() throws Exception {
        try (KeepAliveTarget target = new KeepAliveTarget()) {
            routes.onServiceChange(null, new Service("s6", "t1", ServiceType.HTTP, "localhost", "/trailers",
                    TlsMode.TERMINATE, null, target.address(), true, Instant.now()));
            routes.onServiceChange(null, new Service("s7", "t1", ServiceType.HTTP, "localhost", "/ok",
                    TlsMode.TERMINATE, null, target.address(), true, Instant.now()));
            try (RawH2 h2 = RawH2.connect(port(server), certificates.clientContext())) {
                for (int stream = 1; stream <= 3; stream += 2) {
                    h2.get(stream, "/trailers");
                    Http2Headers trailers = h2.readUntilTrailers(stream);
                    assertThat(trailers.status()).isNull();
                    assertThat(trailers.get("x-checksum")).hasToString("4711");
                }
                h2.get(5, "/ok");
                assertThat(h2.readUntilEnd(5)).as("trailers of a response with a length")
                        .isNull();
            }
        }
    }

    /**
     * A chunked 205 whose last chunk carries trailers reaches an HTTP/2 visitor without content and without trailers
     * (a bodyless answer has none, as over HTTP/1.1), whether they came in the read of the rest of the body or in one
     * of their own (sent once the visitor has the 205's head, so after the proxy read the rest): no HEADERS after the
     * 205's ends the stream.
     */
    @Test
    void aResetContentsTrailersDoNotReachAnHttp2VisitorHoweverTheyCame() throws Exception {
        try (KeepAliveTarget target = new KeepAliveTarget()) {
            List<String> paths = List.of("/reset-content-trailers", "/reset-content-trailers-split");
            for (String path : paths) {
                routes.onServiceChange(null, new Service("s" + path, "t1", ServiceType.HTTP, "localhost", path,
                        TlsMode.TERMINATE, null, target.address(), true, Instant.now()));
            }
            try (RawH2 h2 = RawH2.connect(port(server), certificates.clientContext())) {
                int stream = 1;
                Map<String, Http2Headers> endedByTrailers = new LinkedHashMap<>();
                for (String path : paths) {
                    h2.get(stream, path);
                    assertThat(h2.readStatusesUntilFinal(stream, Duration.ofSeconds(20))).as(path)
                            .containsExactly("205");
                    if (path.endsWith("-split")) {
                        target.sendSplitTrailers();
                    }
                    Http2Headers end = h2.readUntilEnd(stream);
                    if (end != null && end.status() == null) {
                        endedByTrailers.put(path, end);
                    }
                    stream += 2;
                }
                // Before, the trailers ended the stream both ways (HEADERS without :status, x-checksum: 4711).
                assertThat(endedByTrailers).as("streams ended by trailers, not by DATA or the 205's head").isEmpty();
            }
        }
    }

    @Test
    void responseCutAfterItsHeadResetsTheHttp2StreamInsteadOfEndingIt() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_2);
        try {
            HttpRequest request = request("/cut").build();

            assertThatThrownBy(() -> client.send(request, HttpResponse.BodyHandlers.ofByteArray()))
                    .isInstanceOf(IOException.class).hasMessageContaining("RST_STREAM");
        } finally {
            client.shutdownNow();
        }
    }

    @Test
    void responseCutAfterItsHeadResetsTheHttpsConnectionWithoutCloseNotify() throws Exception {
        HttpClient client = client(HttpClient.Version.HTTP_1_1);
        try {
            HttpRequest request = request("/cut").build();

            assertThatThrownBy(() -> client.send(request, HttpResponse.BodyHandlers.ofByteArray()))
                    .isInstanceOf(IOException.class).hasStackTraceContaining("Connection reset");
        } finally {
            client.shutdownNow();
        }
    }
}
