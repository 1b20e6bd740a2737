package io.picotunnel.server.proxy.http;

import com.sun.management.ThreadMXBean;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HopByHopTest {

    @Test
    void theHeadersConnectionNamesGoWithTheHopByHopOnesButNotHostOrContentLength() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add(HttpHeaderNames.CONNECTION, "Keep-Alive, X-Hop ,, host,Content-Length")
                .add(HttpHeaderNames.CONNECTION, "x-other")
                .add("X-Hop", "1").add("X-Other", "2").add("Keep-Alive", "timeout=5").add("TE", "trailers")
                .add(HttpHeaderNames.HOST, "alpha.test").add(HttpHeaderNames.CONTENT_LENGTH, "3").add("X-Kept", "yes");

        HopByHop.strip(headers);

        assertThat(headers.names()).containsExactlyInAnyOrder("host", "content-length", "X-Kept");
    }

    @Test
    void aHeaderNamedInALaterConnectionHeaderGoesToo() {
        HttpHeaders headers = new DefaultHttpHeaders()
                .add(HttpHeaderNames.CONNECTION, "keep-alive").add(HttpHeaderNames.CONNECTION, "X-Hop")
                .add("X-Hop", "1").add("X-Kept", "yes");

        HopByHop.strip(headers);

        assertThat(headers.names()).containsExactly("X-Kept");
    }

    /**
     * Connection naming itself, Host, Content-Length and Transfer-Encoding, in values spread over many Connection
     * headers among enough others to share the table's buckets with them: the headers it names go as its values are
     * read (Netty's value iterator holds the next Connection entry, and only other names are removed), every value is
     * read, and Host and Content-Length stay.
     */
    @Test
    void aConnectionNamingItselfAndTheFramingHeadersAmongManyIsReadWhole() {
        HttpHeaders headers = new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION,
                "Connection, HOST, content-length, Transfer-Encoding, X-Hop-0");
        List<String> kept = new ArrayList<>(List.of("Host", "Content-Length"));
        for (int i = 0; i < 40; i++) {
            headers.add("X-Kept-" + i, "k").add("X-Hop-" + i, "h").add(HttpHeaderNames.CONNECTION,
                    i % 2 == 0 ? "connection" : "X-Hop-" + i + " ,\tCONNECTION");
            kept.add("X-Kept-" + i);
        }
        headers.add("Host", "alpha.test").add("Content-Length", "3").add("Transfer-Encoding", "chunked")
                .add(HttpHeaderNames.CONNECTION, "x-hop-2, x-hop-38");
        for (int i = 4; i < 40; i += 2) {
            headers.add(HttpHeaderNames.CONNECTION, "X-Hop-" + i);
        }

        HopByHop.strip(headers);

        assertThat(headers.names()).containsExactlyInAnyOrderElementsOf(kept);
    }

    @Test
    void closeIsAnOptionButAHeaderOfThatNameGoesToo() {
        HttpHeaders headers = new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION, "close").add("Close", "x")
                .add("X-Kept", "yes");
        HttpHeaders withoutCloseHeader = new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION, "CLOSE")
                .add("X-Kept", "yes");

        HopByHop.strip(headers);
        HopByHop.strip(withoutCloseHeader);

        assertThat(headers.names()).containsExactly("X-Kept");
        assertThat(withoutCloseHeader.names()).containsExactly("X-Kept");
    }

    @Test
    void anUpgradeIsAskedOnlyByAnUpgradeHeaderThatConnectionNames() {
        assertThat(HopByHop.isUpgrade(new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION, "keep-alive, Upgrade")
                .add(HttpHeaderNames.UPGRADE, "websocket"))).isTrue();
        assertThat(HopByHop.isUpgrade(new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION, "keep-alive")
                .add(HttpHeaderNames.CONNECTION, "close,\tUpgrade").add(HttpHeaderNames.UPGRADE, "websocket"))).isTrue();
        assertThat(HopByHop.isUpgrade(new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION, "keep-alive, upgrades")
                .add(HttpHeaderNames.UPGRADE, "websocket"))).isFalse();
        assertThat(HopByHop.isUpgrade(new DefaultHttpHeaders().add(HttpHeaderNames.CONNECTION, "upgrade"))).isFalse();
    }

    /**
     * Every message passed on is stripped, and its Connection nearly always says only keep-alive or close: reading
     * those takes no list of tokens. Compared with a message without Connection, stripped of as many headers.
     */
    @Test
    void aConnectionHeaderOfKeepAliveOrCloseIsReadWithoutMakingItsTokens() {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        long keepAlive = Long.MAX_VALUE;
        long close = Long.MAX_VALUE;
        long without = Long.MAX_VALUE;
        for (int round = 0; round < 30; round++) {
            keepAlive = Math.min(keepAlive, bytesPerStrip(threads, HttpHeaderNames.CONNECTION, "keep-alive"));
            close = Math.min(close, bytesPerStrip(threads, HttpHeaderNames.CONNECTION, "close"));
            without = Math.min(without, bytesPerStrip(threads, HttpHeaderNames.TE, "trailers"));
        }
        assertThat(keepAlive - without).as("bytes per message for Connection: keep-alive").isLessThan(96);
        assertThat(close - without).as("bytes per message for Connection: close").isLessThan(96);
    }

    private static long bytesPerStrip(ThreadMXBean threads, CharSequence name, String value) {
        HttpHeaders[] messages = new HttpHeaders[1000];
        for (int i = 0; i < messages.length; i++) {
            messages[i] = new DefaultHttpHeaders().add(HttpHeaderNames.HOST, "alpha.test")
                    .add(HttpHeaderNames.ACCEPT, "*/*").add(name, value).add("Keep-Alive", "timeout=5");
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        for (HttpHeaders message : messages) {
            HopByHop.strip(message);
        }
        return (threads.getCurrentThreadAllocatedBytes() - before) / messages.length;
    }
}
