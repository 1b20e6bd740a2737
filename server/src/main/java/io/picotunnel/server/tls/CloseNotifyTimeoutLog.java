package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggerContextListener;
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
 * close_notify, and what was queued before it, was not written within the flush timeout
 * ({@link HttpsFrontDoor#CLOSE_NOTIFY_FLUSH_TIMEOUT}, a deadline from the close: a visitor that reads slowly is
 * closed too): one line per such visitor, as many as anyone opens on a public listener. Installed on Logback, this
 * filter drops those lines and counts them; one line an interval says that it happened and how often.
 */
final class CloseNotifyTimeoutLog extends TurboFilter {

    static final String NETTY_LOGGER = SslHandler.class.getName();
    /** Netty formats the message before Logback sees it: the channel, then this. */
    static final String NETTY_MESSAGE = "Last write attempt timed out; force-closing the connection.";

    private final AtomicLong closed = new AtomicLong();
    private final RefusalLog lines;

    /** {@code lines}: where the lines go, at most one an interval. */
    CloseNotifyTimeoutLog(RefusalLog lines) {
        this.lines = lines;
    }

    /**
     * Puts the filter on the process's Logback, once; nothing when SLF4J logs elsewhere. A reset of Logback (a
     * configuration file with {@code scan="true"} that changed, a reload over JMX) clears the turbo filters: the
     * filter is put back then, or Netty's line would come back for every connection. One listener does that, for the
     * filter installed last: one taken off since and installed again leaves no second listener behind.
     */
    static synchronized void install() {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context
                && context.getTurboFilterList().stream().noneMatch(CloseNotifyTimeoutLog.class::isInstance)) {
            CloseNotifyTimeoutLog filter =
                    new CloseNotifyTimeoutLog(new RefusalLog(LoggerFactory.getLogger(CloseNotifyTimeoutLog.class)));
            filter.start();
            context.addTurboFilter(filter);
            context.getCopyOfListenerList().stream().filter(PutBackOnReset.class::isInstance)
                    .forEach(context::removeListener);
            context.addListener(new PutBackOnReset(filter));
        }
    }

    /** Puts {@code filter} back on Logback after each reset, which clears the turbo filters (and stops them). */
    record PutBackOnReset(CloseNotifyTimeoutLog filter) implements LoggerContextListener {
        @Override
        public boolean isResetResistant() {
            return true;
        }

        @Override
        public void onReset(LoggerContext context) {
            synchronized (CloseNotifyTimeoutLog.class) {
                if (context.getTurboFilterList().stream().noneMatch(CloseNotifyTimeoutLog.class::isInstance)) {
                    filter.start();
                    context.addTurboFilter(filter);
                }
            }
        }

        @Override
        public void onStart(LoggerContext context) {
        }

        @Override
        public void onStop(LoggerContext context) {
        }

        @Override
        public void onLevelChange(Logger logger, Level level) {
        }
    }

    /** Connections this filter saw closed without their close_notify. */
    long closedWithoutCloseNotify() {
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
        // The listener's timeout, named: every production handler uses it (TunnelEndpointTls.newHandler(Duration)
        // takes another only in tests), and Netty's line does not say which timeout expired.
        lines.refused(true, () -> "TLS connection " + channel + " closed without its close_notify: the peer did not"
                + " take what was left to send, its close_notify included, within "
                + Durations.format(HttpsFrontDoor.CLOSE_NOTIFY_FLUSH_TIMEOUT) + " of the close");
        return FilterReply.DENY;
    }
}
