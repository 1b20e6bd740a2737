package io.picotunnel.server.tunnel;

import io.netty.channel.Channel;
import io.picotunnel.protocol.yamux.YamuxSession;

/** For tests in any package: the GoAway a stopping server's drain sends on a client's session, marked as the drain's. */
public final class StoppingServerGoAway {

    private StoppingServerGoAway() {
    }

    /** Sent on the session's loop: at once when called there, else queued, as the session queues its own GoAway. */
    public static void send(YamuxSession session) {
        Channel channel = session.parent();
        if (channel.eventLoop().inEventLoop()) {
            WebSocketControlFrames.goAwayOfTheStop(channel, session);
        } else {
            channel.eventLoop().execute(() -> WebSocketControlFrames.goAwayOfTheStop(channel, session));
        }
    }
}
