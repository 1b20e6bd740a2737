package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import io.netty.handler.ssl.SslHandler;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.net.RefusalLog;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Netty's TLS handler warns "Last write attempt timed out; force-closing the connection." for each connection whose
 * close_notify could not be written within the flush timeout ({@link HttpsFrontDoor#CLOSE_NOTIFY_FLUSH_TIMEOUT}):
 * one line per visitor that reads nothing, as many as anyone opens on a public listener. Installed on Logback, this
 * filter drops those lines and counts them; one line an interval says that it happened and how often.
 */
final class CloseNotifyTimeoutLog extends TurboFilter {

    private static final String NETTY_LOGGER = SslHandler.class.getName();
    /** Netty formats the message before Logback sees it: the channel, then this. */
    private static final String NETTY_MESSAGE = "Last write attempt timed out; force-closing the connection.";
    private static final AtomicLong closed = new AtomicLong();
    private static final RefusalLog lines = new RefusalLog(LoggerFactory.getLogger(CloseNotifyTimeoutLog.class));

    private CloseNotifyTimeoutLog() {
    }

    /** Puts the filter on the process's Logback, once; nothing when SLF4J logs elsewhere. */
    static synchronized void install() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context
                && context.getTurboFilterList().stream().noneMatch(CloseNotifyTimeoutLog.class::isInstance)) {
            CloseNotifyTimeoutLog filter = new CloseNotifyTimeoutLog();
            filter.start();
            context.addTurboFilter(filter);
        }
    }

    /** Connections closed without their close_notify since the start. */
    static long closedWithoutCloseNotify() {
        return closed.get();
    }

    @Override
    public FilterReply decide(Marker marker, Logger logger, Level level, String format, Object[] params,
                              Throwable t) {
        if (format == null || !format.endsWith(NETTY_MESSAGE) || !logger.getName().equals(NETTY_LOGGER)) {
            return FilterReply.NEUTRAL;
        }
        closed.incrementAndGet();
        String channel = format.substring(0, format.length() - NETTY_MESSAGE.length()).strip();
        lines.refused(true, () -> "TLS connection " + channel + " closed without its close_notify: the peer took"
                + " nothing of what was left to send for " + Durations.format(HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT));
        return FilterReply.DENY;
    }
}
