package io.picotunnel.protocol.yamux;

import io.netty.channel.ChannelId;

/** The id of a stream channel: the parent's id and the stream id. */
record YamuxStreamChannelId(ChannelId parentId, int streamId) implements ChannelId {

    @Override
    public String asShortText() {
        return parentId.asShortText() + '/' + Integer.toUnsignedString(streamId);
    }

    @Override
    public String asLongText() {
        return parentId.asLongText() + '/' + Integer.toUnsignedString(streamId);
    }

    @Override
    public int compareTo(ChannelId o) {
        if (o instanceof YamuxStreamChannelId other) {
            int byParent = parentId.compareTo(other.parentId);
            return byParent != 0 ? byParent : Integer.compareUnsigned(streamId, other.streamId);
        }
        return asLongText().compareTo(o.asLongText());
    }

    @Override
    public String toString() {
        return asShortText();
    }
}
