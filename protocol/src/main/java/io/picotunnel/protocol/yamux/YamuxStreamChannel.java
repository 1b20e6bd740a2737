package io.picotunnel.protocol.yamux;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;

import java.time.Duration;

/**
 * One yamux stream as a Netty child channel of the session's parent channel, on the parent's event loop.
 *
 * <p>Reads and writes {@code ByteBuf}. Reading honours {@code autoRead} and {@code read()}: credit goes back
 * to the peer only when data has been delivered to this channel's pipeline, so a reader that stops reading
 * stops the sender once the window (256 KiB) is used up. The channel is writable only while its own queue
 * is under the high-water mark, it has send window left and the parent is writable; changes fire
 * {@code channelWritabilityChanged}.
 *
 * <p>Half-close: {@link #shutdownOutput()} sends FIN. A FIN from the peer fires
 * {@code ChannelInputShutdownEvent.INSTANCE} as a user event and the channel stays open for writing. When
 * both directions are shut down the channel closes itself. {@code close()} sends FIN when output is still
 * open; data the peer sends after a local close is answered with RST. An RST from the peer closes the
 * channel at once ({@link #isReset()} then is true).
 */
public interface YamuxStreamChannel extends Channel {

    int streamId();

    YamuxSession session();

    /** Sends FIN after everything written before it; the peer reads EOF. */
    ChannelFuture shutdownOutput();

    boolean isOutputShutdown();

    boolean isInputShutdown();

    /** Sends RST and closes the channel, dropping data not yet sent. */
    default ChannelFuture reset() {
        return reset(ResetReason.NONE);
    }

    /** Sends RST with {@code reason} in its length field and closes the channel, dropping data not yet sent. */
    ChannelFuture reset(ResetReason reason);

    /** Why the peer reset the stream: {@link ResetReason#NONE} when it gave no reason or did not reset it. */
    ResetReason peerResetReason();

    /**
     * True when this side opened the stream and its SYN never left: the session's connection closed with the SYN still
     * queued, so the peer never heard of the stream, and it may be opened on another session as after a refusal.
     */
    boolean synNeverSent();

    /** How long the peer may take to acknowledge this stream when this side opens it: what a log line names. */
    Duration openTimeout();

    /** True when this side opened the stream and reset it, the peer having sent no ACK within {@link #openTimeout()}. */
    default boolean openTimedOut() {
        return false;
    }

    /**
     * True when the stream's session ended (its connection closed or was lost, the session ended on an error, or this
     * side reset its streams to end the connection, {@link YamuxSession#resetStreams}) before the peer sent FIN or RST on
     * it: the stream did not end by the peer's word, and what the peer did with it is unknown.
     */
    boolean sessionLost();

    /** True when the stream ended by RST, from either side. */
    boolean isReset();

    /**
     * A handler of this stream holds {@code delta} more bytes it read and has not passed on yet (less when
     * negative), e.g. while a target is dialled: they count toward the session's buffer limit as bytes not yet
     * read, until passed on or until the channel closes.
     */
    void countHeld(long delta);
}
