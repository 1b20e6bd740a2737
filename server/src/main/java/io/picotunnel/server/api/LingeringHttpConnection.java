package io.picotunnel.server.api;

import io.picotunnel.server.net.LimitedBody;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.thread.Scheduler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A management connection that ends with a lingering close after Jetty's own answer to a request head it could not
 * take (431 for headers too large, 400 for a bad request line or header, 417 for an expectation other than
 * {@code 100-continue}), given before any route runs and so before {@link UnreadBodyDrain}: the answer goes out,
 * the output is shut, and what the client still sends (the body behind that head) is read and dropped until it
 * closes, up to {@link LimitedBody#DROPPED_BYTES} in all and for at most {@link LimitedBody#DROP_TIME}, then the
 * connection closes. Jetty closed with most of it unread, and the reset that followed failed the client's next write
 * before it read the answer ("broken pipe"; Java's HTTP client and curl then report no answer at all).
 */
final class LingeringHttpConnection extends HttpConnection {

    private static final int DROP_BUFFER = 8 * 1024;

    private final Duration dropTime;

    /** Set once Jetty refused the request head: from then on, the parser sees nothing more. */
    private volatile boolean headRefused;
    private ByteBuffer dropped;
    private long droppedBytes;
    private volatile Scheduler.Task deadline;

    private LingeringHttpConnection(HttpConfiguration config, Connector connector, EndPoint endPoint,
                                    Duration dropTime) {
        super(config, connector, endPoint);
        this.dropTime = dropTime;
    }

    /**
     * Jetty's HTTP/1.1 connections, each a {@link LingeringHttpConnection} that drops for up to {@code dropTime}
     * ({@link LimitedBody#DROP_TIME} on the management port).
     */
    static final class Factory extends HttpConnectionFactory {

        private final Duration dropTime;

        Factory(HttpConfiguration config, Duration dropTime) {
            super(config);
            this.dropTime = dropTime;
        }

        @Override
        public Connection newConnection(Connector connector, EndPoint endPoint) {
            LingeringHttpConnection connection = new LingeringHttpConnection(getHttpConfiguration(), connector, endPoint,
                    dropTime);
            connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
            return configure(connection, connector, endPoint);
        }
    }

    /** Whether Jetty refused the request head, and what the client still sends is dropped until the close. */
    boolean droppingRest() {
        return headRefused;
    }

    @Override
    protected RequestHandler newRequestHandler() {
        return new RequestHandler() {
            @Override
            public void badMessage(HttpException failure) {
                headRefused = true;
                super.badMessage(failure);
            }
        };
    }

    @Override
    public void onFillable() {
        if (headRefused) {
            dropRest();
        } else {
            super.onFillable();
        }
    }

    /**
     * Reads and drops what has come, until none is left to read now (then waits for more), the client's end, or a
     * bound. Once the answer is done (no request left), the output is shut, so that the client sees the answer whole.
     */
    private void dropRest() {
        EndPoint endPoint = getEndPoint();
        if (dropped == null) {
            dropped = BufferUtil.allocate(DROP_BUFFER);
            deadline = getConnector().getScheduler().schedule(endPoint::close, dropTime.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        if (getHttpChannel().getRequest() == null && !endPoint.isOutputShutdown()) {
            endPoint.shutdownOutput();
        }
        try {
            while (endPoint.isOpen()) {
                BufferUtil.clear(dropped);
                int read = endPoint.fill(dropped);
                if (read == 0) {
                    fillInterested();
                    return;
                }
                if (read < 0) {
                    // The client's end: a close, which is at once whole when the output is shut (not yet if the
                    // answer is still being written: then Jetty closes once it is).
                    if (endPoint.isOutputShutdown()) {
                        endPoint.close();
                    }
                    return;
                }
                droppedBytes += read;
                if (droppedBytes > LimitedBody.DROPPED_BYTES) {
                    endPoint.close();
                    return;
                }
            }
        } catch (IOException gone) {
            endPoint.close(gone);
        }
    }

    @Override
    public void onClose(Throwable cause) {
        if (deadline != null) {
            deadline.cancel();
        }
        super.onClose(cause);
    }
}
