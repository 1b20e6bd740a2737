package io.picotunnel.server.proxy.http;

import ch.qos.logback.classic.Level;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.concurrent.Future;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.net.Transport;
import io.picotunnel.server.access.AccessControl;
import io.picotunnel.server.access.PasswordChecksOn;
import io.picotunnel.server.monitor.StandaloneTrafficCounters;
import io.picotunnel.server.monitor.TrafficCounters;
import io.picotunnel.server.net.RetryAfter;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.TlsMode;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What the proxy does with a request while its access check runs (a password check, held here until the test lets it
 * run), and once it ended: an HTTP/2 upload the budget ends meanwhile is answered 503, counted as one of the service's
 * requests, with its response, as the proxy's other answers are, the check's verdict then ignored; the check's own
 * answer when the password checks are backed up is counted so too; a check that does not end is answered 503
 * check_timeout once the proxy's bound passed, its verdict ignored when it comes; and the request's head is let go
 * once the check ended, not kept for as long as the connection (or HTTP/2 stream) lives. The proxy itself on loopback,
 * socket targets, real HTTP/2 and HTTP/1.1 visitors.
 */
class ProxyHandlerAccessCheckTest {

    private static final int FRAME = 1000;
    /** The Retry-After of the proxy's 503s that ask to try again in a moment, check_timeout's among them. */
    private static final String IN_A_MOMENT = Long.toString(RetryAfter.IN_A_MOMENT.toSeconds());
    /** One frame fits, the second passes it. */
    private static final long BUDGET = 2 * (FRAME + Http2UploadBudget.FRAME_COST) - 1;

    private final HeldPasswordChecks checks = new HeldPasswordChecks();
    private final EventLoopGroup group = Transport.newEventLoopGroup(1, "access-check-proxy");
    private final EventLoopGroup visitors = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    @AfterEach
    void stop() throws InterruptedException {
        // each asked to end before any is waited for: a wait that throws leaves none running
        Future<?> visitorsEnd = visitors.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        Future<?> proxysEnd = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        try {
            Http2UploadBudgetPeers.synced(visitorsEnd, "the visitors' loop's end");
            Http2UploadBudgetPeers.synced(proxysEnd, "the proxy's loop's end");
        } finally {
            checks.close();
        }
    }

    @Test
    void anUploadTheBudgetEndsWhileItsAccessCheckRunsIsAnswered503AndCountedAsOneOfTheServicesRequests()
            throws Exception {
        TrafficCounters counters = StandaloneTrafficCounters.create();
        try (TargetServer target = new TargetServer("uploads")) {
            Channel listener = startHttp2Proxy(lockedService("uploads.test", target), counters,
                    proxy -> proxy.http2UploadBudget(BUDGET));

            Http2UploadBudgetPeers.Answer answer = new Http2UploadBudgetPeers.Answer();
            Http2StreamChannel upload = Http2UploadBudgetPeers.upload(
                    Http2UploadBudgetPeers.connect(visitors, listener), answer,
                    Http2UploadBudgetPeers.postHead().add("authorization", HeldPasswordChecks.authorization()));
            Http2UploadBudgetPeers.send(upload, FRAME, false);
            Http2UploadBudgetPeers.send(upload, FRAME, false);

            assertThat(answer.status.get(10, TimeUnit.SECONDS)).as("the answer while the check runs").isEqualTo("503");
            assertThat(answer.body.get(10, TimeUnit.SECONDS)).as("its page").contains("holding too much");
            assertThat(answer.reset.get(10, TimeUnit.SECONDS)).as("the reset after it").isZero();
            await().atMost(10, TimeUnit.SECONDS).alias("the 503 counted with the service's responses")
                    .until(() -> counters.responses(5) == 1);

            releaseTheCheckUntilItsVerdictWasLookedAt();
            assertThat(counters.totalConnections()).as("the service's requests: the one answered 503").isEqualTo(1);
            assertThat(counters.activeConnections()).as("its requests in progress").isZero();
            assertThat(counters.responses(5)).as("5xx answers").isEqualTo(1);
            assertThat(counters.responses(2)).as("2xx answers").isZero();
            Http2UploadBudgetPeers.synced(listener.close(), "the proxy's listener's close");
        }
    }

    /**
     * Password checks backed up (their pool refuses more, as a full queue does): the 503 "busy" the check answers
     * counts as one of the service's requests with its response, over HTTP/1.1 and over HTTP/2, in its counters and in
     * the metrics /metrics shows; before, neither request nor response was counted.
     */
    @Test
    void theBusy503OfBackedUpPasswordChecksCountsOnceAsOneOfTheServicesRequestsOverHttp1AndHttp2() throws Exception {
        ExecutorService refusing = Executors.newSingleThreadExecutor();
        refusing.shutdown();
        try (AccessControl access = PasswordChecksOn.executor(refusing)) {
            RawHttp.Response answer = assertAnsweredOnceEachOverHttp1AndHttp2(access,
                    HeldPasswordChecks.authorization(),
                    503);
            assertThat(answer.text()).contains("Too many sign-in attempts");
        }
    }

    /**
     * A wrong password, answered 401 once its check ran on the password checks' pool (the verdict handed back to the
     * connection's loop, where the busy 503 above is answered at once), counts once as one of the service's requests
     * with its 4xx.
     */
    @Test
    void aWrongPasswordAnswered401AfterItsCheckRanCountsOnceOverHttp1AndHttp2() throws Exception {
        try (AccessControl access = PasswordChecksOn.executor(Executors.newSingleThreadExecutor())) {
            RawHttp.Response answer = assertAnsweredOnceEachOverHttp1AndHttp2(access,
                    HeldPasswordChecks.authorization("wrong"), 401);
            assertThat(answer.header("www-authenticate")).as("the challenge").startsWith("Basic ");
        }
    }

    /** A password check that fails (its clock throws on the check's thread, as a bug would): 500, counted as a 5xx. */
    @Test
    void aPasswordCheckThatFailsAnswered500CountsOnceOverHttp1AndHttp2() throws Exception {
        String checkThread = "failing-password-check";
        ExecutorService pool = Executors.newSingleThreadExecutor(task -> new Thread(task, checkThread));
        LongSupplier clockBrokenOnTheCheckThread = () -> {
            if (Thread.currentThread().getName().equals(checkThread)) {
                throw new IllegalStateException("a clock that fails, for the test");
            }
            return System.nanoTime();
        };
        try (AccessControl access = PasswordChecksOn.executor(pool, clockBrokenOnTheCheckThread)) {
            RawHttp.Response answer = assertAnsweredOnceEachOverHttp1AndHttp2(access,
                    HeldPasswordChecks.authorization(),
                    500);
            assertThat(answer.text()).contains("The access check failed");
        }
    }

    /**
     * A GET of the service behind {@code access}'s password checks with {@code authorization}, over HTTP/1.1 and then
     * over HTTP/2, is answered {@code status} each time, and each counts once as one of the service's requests with its
     * response, in its counters (the API's figures) and in the metrics /metrics shows. The HTTP/1.1 answer.
     */
    private RawHttp.Response assertAnsweredOnceEachOverHttp1AndHttp2(AccessControl access, String authorization,
            int status) throws Exception {
        try (TargetServer target = new TargetServer("checked")) {
            Service locked = lockedService("locked.test", target);
            try (StandaloneTrafficCounters.Metered metered = StandaloneTrafficCounters.metered(locked);
                 DirectProxyFixture fixture = new DirectProxyFixture("open.test",
                         proxy -> proxy.access(access).traffic(service -> metered.counters()))) {
                fixture.routes().onServiceChange(null, locked);
                fixture.listen(64 * 1024);
                RawHttp.Response answer;
                try (RawHttp visitor = new RawHttp(fixture.port())) {
                    answer = visitor.send(get("/", authorization)).read();
                    assertThat(answer.status()).as("the HTTP/1.1 answer").isEqualTo(status);
                }
                assertAnswered(metered, 1, status / 100);

                Channel http2 = Http2UploadBudgetPeers.startProxy(group, fixture.proxy());
                Http2UploadBudgetPeers.Answer http2Answer = new Http2UploadBudgetPeers.Answer();
                Http2UploadBudgetPeers.request(Http2UploadBudgetPeers.connect(visitors, http2), http2Answer,
                        new DefaultHttp2Headers().method("GET").scheme("https").authority("locked.test").path("/")
                                .add("authorization", authorization));
                assertThat(http2Answer.status.get(10, TimeUnit.SECONDS)).as("the HTTP/2 answer")
                        .isEqualTo(Integer.toString(status));
                assertAnswered(metered, 2, status / 100);
                Http2UploadBudgetPeers.synced(http2.close(), "the HTTP/2 listener's close");
                return answer;
            }
        }
    }

    /** Lets the held check run, and waits until its verdict, handed to the stream's loop, was looked at there. */
    private void releaseTheCheckUntilItsVerdictWasLookedAt() throws Exception {
        checks.release();
        checks.awaitChecked();
        group.next().submit(() -> {
        }).get(10, TimeUnit.SECONDS);
    }

    /**
     * The service's requests are {@code count}, each answered with a status of class {@code hundreds}: in its counters
     * and in its metrics.
     */
    private static void assertAnswered(StandaloneTrafficCounters.Metered metered, int count, int hundreds) {
        TrafficCounters counters = metered.counters();
        await().atMost(10, TimeUnit.SECONDS).alias("the answers counted")
                .until(() -> counters.responses(hundreds) >= count);
        assertThat(counters.totalConnections()).as("the service's requests").isEqualTo(count);
        assertThat(counters.activeConnections()).as("its requests in progress").isZero();
        for (int c = 1; c <= 5; c++) {
            String statusClass = c + "xx";
            long expected = c == hundreds ? count : 0;
            assertThat(counters.responses(c)).as("%s answers", statusClass).isEqualTo(expected);
            assertThat(metered.scrapedResponses(statusClass)).as("%s answers in the metrics", statusClass)
                    .isEqualTo(expected);
        }
    }

    /**
     * An HTTP/2 visitor that cancels its stream while its password check runs: its request counts once, with no
     * response, as an exchange the visitor cut short does, and the verdict that comes after does not count it again;
     * before, nothing counted it (the verdict, come after the stream closed, was ignored).
     */
    @Test
    void aStreamCancelledWhileItsCheckRunsCountsOnceAsAnUnansweredRequest() throws Exception {
        TrafficCounters counters = StandaloneTrafficCounters.create();
        try (TargetServer target = new TargetServer("cancelled")) {
            Channel listener = startHttp2Proxy(lockedService("locked.test", target), counters, proxy -> proxy);
            Http2StreamChannel stream = Http2UploadBudgetPeers.request(
                    Http2UploadBudgetPeers.connect(visitors, listener), new Http2UploadBudgetPeers.Answer(),
                    new DefaultHttp2Headers().method("GET").scheme("https").authority("locked.test").path("/")
                            .add("authorization", HeldPasswordChecks.authorization()));
            Http2UploadBudgetPeers.synced(stream.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)),
                    "the write of the RST_STREAM");
            await().atMost(10, TimeUnit.SECONDS).alias("the request counted once the visitor left")
                    .until(() -> counters.totalConnections() == 1 && counters.activeConnections() == 0);

            releaseTheCheckUntilItsVerdictWasLookedAt();
            assertThat(counters.totalConnections()).as("the service's requests, once the verdict came").isEqualTo(1);
            assertThat(counters.activeConnections()).as("its requests in progress").isZero();
            for (int hundreds = 1; hundreds <= 5; hundreds++) {
                assertThat(counters.responses(hundreds)).as("%dxx answers", hundreds).isZero();
            }
            Http2UploadBudgetPeers.synced(listener.close(), "the proxy's listener's close");
        }
    }

    /**
     * HTTP/1.1 visitors that end their sending side (shutdown(SHUT_WR), as {@code nc -N} and scripts do) while their
     * password checks run have not left: each gets its answer once its check ended, the check's own (401) or the
     * target's (200), counted as answered, as a half-close before the target's answer keeps an exchange going; then
     * the connection's end (no keep-alive after a half-close). Not one of the requests of visitors who left.
     */
    @Test
    void http1VisitorsThatHalfCloseWhileTheirChecksRunGetTheirAnswersCountedAsAnswered() throws Exception {
        TrafficCounters counters = StandaloneTrafficCounters.create();
        try (DirectProxyFixture fixture = new DirectProxyFixture("open.test",
                proxy -> proxy.access(checks.access()).traffic(service -> counters))) {
            fixture.routes().onServiceChange(null, lockedService("locked.test", fixture.target()));
            fixture.listen(64 * 1024);
            try (RawHttp wrong = new RawHttp(fixture.port())) {
                Channel first = halfCloseWhileChecked(fixture, null, wrong,
                        get("/wrong", HeldPasswordChecks.authorization("wrong")));
                try (RawHttp right = new RawHttp(fixture.port())) {
                    halfCloseWhileChecked(fixture, first, right, get("/right"));

                    checks.release();
                    RawHttp.Response refused = wrong.read();
                    assertThat(refused.status()).as("the check's answer after the half-close").isEqualTo(401);
                    assertThat(wrong.closedByServer()).as("the connection's end after it").isTrue();
                    RawHttp.Response answered = right.read();
                    assertThat(answered.status()).as("the target's answer after the half-close").isEqualTo(200);
                    assertThat(answered.text()).contains("uri=/right");
                    assertThat(right.closedByServer()).as("the connection's end after it").isTrue();
                }
            }
            await().atMost(10, TimeUnit.SECONDS).alias("both requests ended")
                    .until(() -> counters.totalConnections() == 2 && counters.activeConnections() == 0);
            assertThat(counters.responses(4)).as("4xx answers").isEqualTo(1);
            assertThat(counters.responses(2)).as("2xx answers").isEqualTo(1);
            assertThat(counters.responses(5)).as("5xx answers").isZero();
        }
    }

    /**
     * Sends {@code request} on {@code visitor}, the connection accepted after {@code previous}, waits for it to be in
     * its check, ends the visitor's side and waits for the proxy to have read that; the proxy's side of the connection.
     */
    private static Channel halfCloseWhileChecked(DirectProxyFixture fixture, Channel previous, RawHttp visitor,
            String request) throws Exception {
        visitor.send(request);
        Channel channel = await().atMost(10, TimeUnit.SECONDS).alias("the visitor's connection accepted")
                .until(fixture::visitor, accepted -> accepted != previous);
        ProxyHandler handler = channel.pipeline().get(ProxyHandler.class);
        await().atMost(10, TimeUnit.SECONDS).alias("the request in its check")
                .until(() -> DirectProxyFixture.onLoop(channel, handler::requestUnderCheck) != null);
        CompletableFuture<Void> halfCloseRead = halfCloseRead(channel);
        visitor.shutdownOutput();
        halfCloseRead.get(10, TimeUnit.SECONDS);
        assertThat(DirectProxyFixture.onLoop(channel, handler::requestUnderCheck)).as("the request still in its check")
                .isNotNull();
        return channel;
    }

    /**
     * Completes once the proxy read the end of {@code channel}'s visitor's side: the event reaches a handler put after
     * the proxy's, which passes every event on once it took it.
     */
    private static CompletableFuture<Void> halfCloseRead(Channel channel) throws Exception {
        CompletableFuture<Void> read = new CompletableFuture<>();
        DirectProxyFixture.onLoop(channel, () -> channel.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof ChannelInputShutdownEvent) {
                    read.complete(null);
                }
                ctx.fireUserEventTriggered(evt);
            }
        }));
        return read;
    }

    @Test
    void theRequestHeadIsLetGoOnceItsAccessCheckEnded() throws Exception {
        try (DirectProxyFixture fixture = new DirectProxyFixture("open.test", proxy -> proxy.access(checks.access()))) {
            fixture.routes().onServiceChange(null, lockedService("locked.test", fixture.target()));
            fixture.listen(64 * 1024);
            try (RawHttp visitor = new RawHttp(fixture.port())) {
                visitor.send(get("/first"));
                Channel channel = fixture.visitor();
                ProxyHandler handler = channel.pipeline().get(ProxyHandler.class);
                await().atMost(10, TimeUnit.SECONDS).alias("the request in its check")
                        .until(() -> DirectProxyFixture.onLoop(channel, handler::requestUnderCheck) != null);

                checks.release();
                RawHttp.Response first = visitor.read();
                assertThat(first.status()).as("the answer once checked").isEqualTo(200);
                assertThat(first.text()).contains("uri=/first");
                assertThat(DirectProxyFixture.onLoop(channel, handler::requestUnderCheck))
                        .as("the request head the connection keeps once its check ended").isNull();

                visitor.send(get("/second"));
                RawHttp.Response second = visitor.read();
                assertThat(second.status()).as("the next request on the connection, its credentials remembered")
                        .isEqualTo(200);
                assertThat(second.text()).contains("uri=/second");
            }
        }
    }

    /**
     * A password check that does not end (held until the test lets it go): once the proxy's bound passed its request is
     * answered 503 check_timeout with the proxy's Retry-After, JSON as asked, counted as one of the service's requests
     * with its 5xx, the connection kept. Its verdict, come once the check is let go, writes nothing and is not taken
     * for that of the next request on the connection, in its own check then (a wrong password: 401); nothing reached
     * the target. Before, the request and its connection waited for as long as the check, here for ever: no answer
     * within the visitor's 20 s; and the 503 had no Retry-After.
     */
    @Test
    void aPasswordCheckThatDoesNotEndIsAnswered503CheckTimeoutAndItsLateVerdictChangesNothing() throws Exception {
        Duration bound = Duration.ofSeconds(5);
        TrafficCounters counters = StandaloneTrafficCounters.create();
        try (LogCapture log = new LogCapture(HttpProxy.class, Level.WARN);
             DirectProxyFixture fixture = new DirectProxyFixture("open.test",
                     proxy -> proxy.access(checks.access()).accessCheckTimeout(bound).traffic(service -> counters))) {
            fixture.routes().onServiceChange(null, lockedService("locked.test", fixture.target()));
            fixture.listen(64 * 1024);
            try (RawHttp visitor = new RawHttp(fixture.port())) {
                long sent = System.nanoTime();
                visitor.send(get("/first", HeldPasswordChecks.authorization(), "application/json"));
                RawHttp.Response timedOut = visitor.read();
                Duration waited = Duration.ofNanos(System.nanoTime() - sent);
                assertThat(timedOut.status()).as("the answer once the check took too long").isEqualTo(503);
                assertThat(timedOut.text()).as("its JSON").contains("check_timeout", "took too long");
                assertThat(timedOut.header("Retry-After")).as("its Retry-After").isEqualTo(IN_A_MOMENT);
                assertThat(waited).as("how long it waited").isBetween(bound, bound.plusSeconds(10));

                visitor.send(get("/second", HeldPasswordChecks.authorization("wrong")));
                Channel channel = fixture.visitor();
                ProxyHandler handler = channel.pipeline().get(ProxyHandler.class);
                await().atMost(10, TimeUnit.SECONDS).alias("the next request in its check").until(() -> {
                    HttpRequest checked = DirectProxyFixture.onLoop(channel, handler::requestUnderCheck);
                    return checked != null && checked.uri().equals("/second");
                });
                releaseTheCheckUntilItsVerdictWasLookedAt();
                RawHttp.Response second = visitor.read();
                assertThat(second.status()).as("the next request's answer, once the first check ended").isEqualTo(401);

                visitor.send("GET /third HTTP/1.1\r\nHost: locked.test\r\n\r\n");
                assertThat(visitor.read().status()).as("the next answer on the connection, to a request without"
                        + " credentials").isEqualTo(401);
            }
            await().atMost(10, TimeUnit.SECONDS).alias("the three requests ended")
                    .until(() -> counters.totalConnections() == 3 && counters.activeConnections() == 0);
            assertThat(counters.responses(5)).as("5xx answers: the check_timeout").isEqualTo(1);
            assertThat(counters.responses(4)).as("4xx answers").isEqualTo(2);
            assertThat(counters.responses(2)).as("2xx answers: none, nothing reached the target").isZero();
            assertThat(log.messages(Level.WARN)).as("the proxy's warnings").singleElement().asString()
                    .contains("locked.test", "did not end within " + Durations.format(bound), "check_timeout");
        }
    }

    /**
     * HTTP/2 as HTTP/1.1: a stream whose password check does not end is answered 503 check_timeout with the proxy's
     * Retry-After once the bound passed, counted once with its 5xx, the check's verdict, come once it is let go,
     * changing nothing.
     */
    @Test
    void anHttp2StreamWhosePasswordCheckDoesNotEndIsAnswered503CheckTimeout() throws Exception {
        TrafficCounters counters = StandaloneTrafficCounters.create();
        try (TargetServer target = new TargetServer("stuck")) {
            Channel listener = startHttp2Proxy(lockedService("locked.test", target), counters,
                    proxy -> proxy.accessCheckTimeout(Duration.ofSeconds(2)));
            Http2UploadBudgetPeers.Answer answer = new Http2UploadBudgetPeers.Answer();
            Http2UploadBudgetPeers.request(Http2UploadBudgetPeers.connect(visitors, listener), answer,
                    new DefaultHttp2Headers().method("GET").scheme("https").authority("locked.test").path("/")
                            .add("accept", "application/json")
                            .add("authorization", HeldPasswordChecks.authorization()));
            assertThat(answer.status.get(20, TimeUnit.SECONDS)).as("the answer once the check took too long")
                    .isEqualTo("503");
            assertThat(answer.body.get(10, TimeUnit.SECONDS)).as("its JSON").contains("check_timeout");
            assertThat(answer.head.get(10, TimeUnit.SECONDS).get("retry-after")).as("its Retry-After")
                    .hasToString(IN_A_MOMENT);
            await().atMost(10, TimeUnit.SECONDS).alias("the 503 counted")
                    .until(() -> counters.responses(5) == 1 && counters.activeConnections() == 0);

            releaseTheCheckUntilItsVerdictWasLookedAt();
            assertThat(counters.totalConnections()).as("the service's requests, once the verdict came").isEqualTo(1);
            assertThat(counters.responses(5)).as("5xx answers").isEqualTo(1);
            assertThat(counters.responses(2) + counters.responses(4)).as("other answers").isZero();
            Http2UploadBudgetPeers.synced(listener.close(), "the proxy's listener's close");
        }
    }

    /**
     * The proxy with the held checks, {@code service} its one route and {@code counters} its traffic's, as
     * {@code settings} sets it further, listening for HTTP/2 visitors.
     */
    private Channel startHttp2Proxy(Service service, TrafficCounters counters,
            UnaryOperator<HttpProxy.Builder> settings) throws InterruptedException {
        HttpRoutes routes = new HttpRoutes();
        routes.onServiceChange(null, service);
        HttpProxy proxy = settings.apply(HttpProxy.builder().routes(routes).opener(new DirectOpener(group))
                .access(checks.access()).traffic(s -> counters)).build();
        return Http2UploadBudgetPeers.startProxy(group, proxy);
    }

    /** A service at {@code host} behind the held checks' password, to {@code target}. */
    private static Service lockedService(String host, TargetServer target) {
        return new Service("locked", "t1", ServiceType.HTTP, host, "/", TlsMode.TERMINATE, null, target.address(),
                true, Instant.now()).withAccess(HeldPasswordChecks.policy());
    }

    private static String get(String path) {
        return get(path, HeldPasswordChecks.authorization());
    }

    private static String get(String path, String authorization) {
        return "GET " + path + " HTTP/1.1\r\nHost: locked.test\r\nAuthorization: " + authorization + "\r\n\r\n";
    }

    private static String get(String path, String authorization, String accept) {
        return "GET " + path + " HTTP/1.1\r\nHost: locked.test\r\nAuthorization: " + authorization + "\r\nAccept: "
                + accept + "\r\n\r\n";
    }
}
