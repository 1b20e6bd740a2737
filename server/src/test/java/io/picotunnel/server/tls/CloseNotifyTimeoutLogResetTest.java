package io.picotunnel.server.tls;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A reset of Logback (a changed configuration file with {@code scan="true"}, a reload over JMX) clears its turbo
 * filters; Netty's line for each close without close_notify stays filtered after it all the same.
 */
class CloseNotifyTimeoutLogResetTest {

    @Test
    void nettysLineStaysFilteredAfterLogbackIsResetAndReconfigured() throws Exception {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        CloseNotifyTimeoutLog.install();

        context.reset();
        new ContextInitializer(context).autoConfig();

        try (LogCapture netty = new LogCapture(CloseNotifyTimeoutLog.NETTY_LOGGER, null)) {
            LoggerFactory.getLogger(CloseNotifyTimeoutLog.NETTY_LOGGER).warn(
                    "[id: 0x0badcafe, L:/127.0.0.1:443 - R:/127.0.0.1:50000] " + CloseNotifyTimeoutLog.NETTY_MESSAGE);

            assertThat(netty.events()).as("Netty's line").isEmpty();
        }
        assertThat(context.getTurboFilterList()).filteredOn(CloseNotifyTimeoutLog.class::isInstance)
                .singleElement()
                .satisfies(filter -> assertThat(((CloseNotifyTimeoutLog) filter).closedWithoutCloseNotify())
                        .as("counted").isPositive());
    }

    /** A test that takes the filter off to use its own, then a listener's start that installs it again. */
    @Test
    void installingAgainAfterTheFilterWasTakenOffLeavesOneListener() {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        CloseNotifyTimeoutLog.install();
        for (int i = 0; i < 3; i++) {
            context.getTurboFilterList().removeIf(CloseNotifyTimeoutLog.class::isInstance);
            CloseNotifyTimeoutLog.install();
        }

        assertThat(context.getCopyOfListenerList()).filteredOn(CloseNotifyTimeoutLog.PutBackOnReset.class::isInstance)
                .singleElement()
                .satisfies(listener -> assertThat(((CloseNotifyTimeoutLog.PutBackOnReset) listener).filter())
                        .as("the filter installed last").isIn(context.getTurboFilterList()));
    }
}
