package io.picotunnel.bench.tools;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdleConnectionsTest {

    @Test
    void opensConnectionsUntilEachHasReachedTheHolder() throws Exception {
        int port = freePort();
        // without a tunnel in between, the "service" is the holder itself
        try (IdleConnections idle = new IdleConnections(port, new InetSocketAddress("127.0.0.1", port),
                Duration.ofSeconds(30))) {
            idle.open(30);
            idle.open(150);
            assertThat(idle.openCount()).isEqualTo(180);
        }
    }

    @Test
    void failsWhenTheConnectionsDoNotReachTheHolder() throws Exception {
        // the "service" accepts (in its backlog) but carries nothing to the holder
        try (ServerSocket blackHole = new ServerSocket(0, 200);
             IdleConnections idle = new IdleConnections(freePort(),
                     new InetSocketAddress("127.0.0.1", blackHole.getLocalPort()), Duration.ofMillis(300))) {
            assertThatThrownBy(() -> idle.open(5)).hasMessageContaining("0 of 5 connections reached the target");
        }
    }

    @Test
    void readsTheResidentMemoryOfAProcess() throws Exception {
        long self = ProcessHandle.current().pid();
        Map<Long, Long> rss = IdleConnections.settledRssKiB(List.of(self), Duration.ofSeconds(2));
        assertThat(rss.get(self)).isGreaterThan(1024); // a JVM holds more than 1 MiB
    }

    @Test
    void asksAJvmForAFullCollection() throws Exception {
        IdleConnections.collectGarbage(List.of(ProcessHandle.current().pid()));
    }

    @Test
    void collectionOfAProcessThatIsNoJvmFailsWithTheReason() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            assertThatThrownBy(() -> IdleConnections.collectGarbage(List.of(sleeper.pid())))
                    .hasMessageContaining("GC.run failed");
        } finally {
            sleeper.destroy();
        }
    }

    @Test
    void parsesTheVmRssLine() {
        assertThat(IdleConnections.rssFromStatus(List.of("Name:\tjava", "VmPeak:\t 9999 kB", "VmRSS:\t  123456 kB",
                "Threads:\t40"))).isEqualTo(123456);
        assertThatThrownBy(() -> IdleConnections.rssFromStatus(List.of("Name:\tjava")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
