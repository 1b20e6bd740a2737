package io.picotunnel.server.tunnel;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.picotunnel.server.auth.FailedLogins;
import io.picotunnel.server.net.LingeringClose;
import io.picotunnel.server.net.RefusalLog;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.net.SocketException;
import java.time.Instant;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What fails in our own code while a tunnel handshake is handled is a warning with its stack trace; a client's reset
 * in the middle of it stays a debug line.
 */
class TunnelHandshakeFailureLogTest {

    private static final String TOKEN = "e".repeat(64);
    private static final Tunnel TUNNEL = new Tunnel("0123456789abcdef", "demo", TOKEN, Instant.EPOCH, Instant.EPOCH);

    @Test
    void aFailureOfOurOwnWhileARequestIsHandledIsAWarningWithItsStackTrace() {
        BooleanSupplier brokenDrainCheck = () -> {
            throw new IllegalStateException("broken drain check");
        };
        EmbeddedChannel channel = new EmbeddedChannel(handler(brokenDrainCheck));
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.DEBUG)) {
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET,
                    "/tunnel?token=" + TOKEN);
            channel.writeInbound(request);

            assertThat(channel.isOpen()).as("closed").isFalse();
            assertThat(request.refCnt()).as("the request is released").isZero();
            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.WARN)
                    .singleElement()
                    .satisfies(warning -> assertThat(thrown(warning)).isEqualTo(IllegalStateException.class.getName()))
                    .extracting(ILoggingEvent::getFormattedMessage).asString()
                    .contains("tunnel handshake closed on an unexpected error");
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    /** One bug met by every connection: a line with its stack trace for the first, the others only counted. */
    @Test
    void failuresOfOurOwnOnManyConnectionsAreOneWarningAnInterval() {
        RefusalLog unexpected = new RefusalLog(LoggerFactory.getLogger(TunnelHandshakeHandler.class));
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.DEBUG)) {
            for (int i = 0; i < 3; i++) {
                EmbeddedChannel channel = new EmbeddedChannel(new TunnelHandshakeHandler(TunnelEndpointConfig.defaults(),
                        RawPeerEndpoint.oneToken(TUNNEL), new TunnelRegistry(), Runnable::run,
                        new FailedLogins("test", FailedLogins.TUNNEL), LingeringClose.Bounds.DEFAULT, () -> false,
                        unexpected));
                channel.pipeline().fireExceptionCaught(new IllegalStateException("bug " + i));
                assertThat(channel.isOpen()).as("closed").isFalse();
                channel.finishAndReleaseAll();
            }
            assertThat(log.events()).filteredOn(event -> event.getLevel() == Level.WARN)
                    .singleElement()
                    .satisfies(warning -> assertThat(thrown(warning)).isEqualTo(IllegalStateException.class.getName()));
        }
    }

    @Test
    void aClientResetInTheMiddleOfItsHandshakeIsADebugLine() {
        EmbeddedChannel channel = new EmbeddedChannel(handler(() -> false));
        try (LogCapture log = new LogCapture(TunnelHandshakeHandler.class, Level.DEBUG)) {
            channel.pipeline().fireExceptionCaught(new SocketException("Connection reset"));

            assertThat(channel.isOpen()).as("closed").isFalse();
            assertThat(log.events()).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.DEBUG);
                assertThat(event.getFormattedMessage()).contains("tunnel handshake failed", "Connection reset");
            });
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    private static TunnelHandshakeHandler handler(BooleanSupplier draining) {
        return new TunnelHandshakeHandler(TunnelEndpointConfig.defaults(), RawPeerEndpoint.oneToken(TUNNEL),
                new TunnelRegistry(), Runnable::run, new FailedLogins("test", FailedLogins.TUNNEL),
                LingeringClose.Bounds.DEFAULT, draining);
    }

    private static String thrown(ILoggingEvent event) {
        return event.getThrowableProxy() == null ? null : event.getThrowableProxy().getClassName();
    }
}
