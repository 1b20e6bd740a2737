package io.picotunnel.protocol.interop;

import io.netty.channel.ChannelHandler;
import io.picotunnel.protocol.yamux.YamuxConfig;
import io.picotunnel.protocol.yamux.YamuxRole;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@link GoPeerConnection}s a test opens, each closed after the test: a field with {@code @RegisterExtension}.
 */
final class GoPeerConnections implements AfterEachCallback {

    private final List<GoPeerConnection> opened = new ArrayList<>();

    /** As {@link GoPeerConnection#open(YamuxRole, String, ChannelHandler, String...)}. */
    GoPeerConnection open(YamuxRole ours, String threadName, ChannelHandler inboundStreams, String... peerArgs) {
        return remember(GoPeerConnection.open(ours, threadName, inboundStreams, peerArgs));
    }

    /** As {@link GoPeerConnection#open(YamuxRole, String, YamuxConfig, ChannelHandler, String...)}. */
    GoPeerConnection open(YamuxRole ours, String threadName, YamuxConfig config, ChannelHandler inboundStreams,
                          String... peerArgs) {
        return remember(GoPeerConnection.open(ours, threadName, config, inboundStreams, peerArgs));
    }

    private GoPeerConnection remember(GoPeerConnection connection) {
        opened.add(connection);
        return connection;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        opened.forEach(GoPeerConnection::close);
        opened.clear();
    }
}
