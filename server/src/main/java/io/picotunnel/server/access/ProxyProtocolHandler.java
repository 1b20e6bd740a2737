package io.picotunnel.server.access;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.protocol.relay.Hold;
import io.picotunnel.protocol.text.ControlCharacters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Reads the PROXY protocol header (version 1, text, or version 2, binary) a trusted front proxy sends first on a
 * connection, and records the visitor it names as {@link VisitorAddress#PROXIED}, and, when a version 2 header says
 * so in its SSL TLV ({@code PP2_TYPE_SSL} with {@code PP2_CLIENT_SSL}: HAProxy's {@code send-proxy-v2-ssl}), that the
 * visitor used TLS to reach the proxy as {@link VisitorAddress#PROXIED_TLS}. The handlers after it hear of
 * the connection ({@code channelActive}) only once the header is read; what followed the header goes on to them
 * (for a tcp service into a {@link Hold} named {@link #HOLD_NAME}, released once the relay runs). A connection
 * from an untrusted peer passes untouched; a trusted one without a valid header within {@link #TIMEOUT}
 * is closed.
 */
public final class ProxyProtocolHandler extends ByteToMessageDecoder {

    public static final String NAME = "proxy-protocol";
    public static final String HOLD_NAME = "proxy-protocol-hold";
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final int V1_MAX = 107;
    private static final int V2_MAX_BODY = 4096;
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    /** A version 2 TLV: its type, then its value's length in two bytes (haproxy's doc/proxy-protocol.txt, 2.2). */
    private static final int TLV_HEADER = 3;
    /** The TLV saying whether the visitor used SSL/TLS: a byte {@code client}, a four-byte {@code verify}, sub-TLVs. */
    private static final int PP2_TYPE_SSL = 0x20;
    private static final int PP2_SSL_MIN = 5;
    /** The bit of {@code client} set when the visitor connected to the proxy over SSL/TLS. */
    private static final int PP2_CLIENT_SSL = 0x01;
    private static final Logger LOG = LoggerFactory.getLogger(ProxyProtocolHandler.class);

    private final TrustedProxies trusted;
    private final boolean holdRest;
    private boolean reading;
    private ScheduledFuture<?> timeout;

    /** {@code holdRest}: keep what follows the header in a {@link Hold} (tcp services, which relay raw bytes). */
    public ProxyProtocolHandler(TrustedProxies trusted, boolean holdRest) {
        this.trusted = trusted;
        this.holdRest = holdRest;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        SocketAddress peer = ctx.channel().remoteAddress();
        if (!(peer instanceof InetSocketAddress inet) || inet.getAddress() == null || !trusted.trusts(inet.getAddress())) {
            ctx.pipeline().remove(this);
            ctx.fireChannelActive();
            return;
        }
        reading = true;
        timeout = ctx.executor().schedule(() -> {
            LOG.debug("no PROXY protocol header from {} within {}; closing", peer, Durations.format(TIMEOUT));
            ctx.close();
        }, TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!reading) {
            return;
        }
        Header header;
        try {
            header = parse(in);
        } catch (IllegalArgumentException e) {
            LOG.info("invalid PROXY protocol header from trusted proxy {}: {}", ctx.channel().remoteAddress(), e.getMessage());
            in.skipBytes(in.readableBytes());
            reading = false;
            ctx.close();
            return;
        }
        if (header == null) {
            return;
        }
        reading = false;
        timeout.cancel(false);
        if (header.visitor() != null) {
            ctx.channel().attr(VisitorAddress.PROXIED).set(header.visitor());
        }
        if (header.visitorTls()) {
            ctx.channel().attr(VisitorAddress.PROXIED_TLS).set(true);
        }
        if (holdRest) {
            ctx.pipeline().addAfter(ctx.name(), HOLD_NAME, new Hold());
        }
        ctx.fireChannelActive();
        // Leaving the pipeline hands what followed the header to the next handler.
        ctx.pipeline().remove(this);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        super.channelReadComplete(ctx);
        if (reading && !ctx.channel().config().isAutoRead()) {
            ctx.read();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        super.userEventTriggered(ctx, evt);
        if (evt == ChannelInputShutdownEvent.INSTANCE && reading) {
            // The proxy ended its input before a whole header (tcp services allow half-closure): nothing follows.
            reading = false;
            ctx.close();
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    /**
     * What a complete header says.
     *
     * @param visitor    the source address, null when the header names no visitor (LOCAL, UNKNOWN, UNSPEC, UNIX)
     * @param visitorTls whether a version 2 header of the PROXY command says the visitor connected to the proxy over
     *                   SSL/TLS (its {@code PP2_TYPE_SSL} TLV with {@code PP2_CLIENT_SSL}); never for version 1
     */
    record Header(InetSocketAddress visitor, boolean visitorTls) {
        static final Header NO_VISITOR = new Header(null, false);
    }

    /**
     * The complete header at the start of {@code in} (consumed), or null while it is not complete. A header that is
     * not one, or breaks its own rules (a version 2 TLV that runs past the header's end, say), throws
     * {@link IllegalArgumentException}.
     */
    static Header parse(ByteBuf in) {
        int start = in.readerIndex();
        if (in.readableBytes() >= 1 && in.getByte(start) == 'P') {
            return parseV1(in);
        }
        if (in.readableBytes() >= 1 && in.getByte(start) == V2_SIGNATURE[0]) {
            return parseV2(in);
        }
        throw new IllegalArgumentException("the connection does not start with a PROXY protocol header");
    }

    private static Header parseV1(ByteBuf in) {
        int start = in.readerIndex();
        int limit = Math.min(in.readableBytes(), V1_MAX);
        int end = -1;
        for (int i = 0; i + 1 < limit; i++) {
            if (in.getByte(start + i) == '\r' && in.getByte(start + i + 1) == '\n') {
                end = i;
                break;
            }
        }
        if (end < 0) {
            if (in.readableBytes() >= V1_MAX) {
                throw new IllegalArgumentException("a version 1 header longer than " + V1_MAX + " bytes");
            }
            return null;
        }
        String line = in.toString(start, end, StandardCharsets.US_ASCII);
        in.skipBytes(end + 2);
        String[] parts = line.split(" ");
        if (parts.length < 2 || !parts[0].equals("PROXY")) {
            throw new IllegalArgumentException("not a PROXY line");
        }
        if (parts[1].equals("UNKNOWN")) {
            return Header.NO_VISITOR;
        }
        if (parts.length != 6 || !(parts[1].equals("TCP4") || parts[1].equals("TCP6"))) {
            throw new IllegalArgumentException("a version 1 line must be 'PROXY TCP4|TCP6 src dst sport dport'");
        }
        InetAddress source = TrustedProxies.literal(parts[2]);
        // TCP6 is written in IPv6 notation; a proxy listening on both families (HAProxy "bind :::80 v4v6", nginx
        // "listen [::]:80") names its IPv4 visitors as IPv4-mapped addresses (::ffff:192.0.2.1), which Java reads
        // as the IPv4 address: the notation says the family, not the address's length.
        boolean family = parts[1].equals("TCP4")
                ? parts[2].indexOf(':') < 0 && source != null && source.getAddress().length == 4
                : parts[2].indexOf(':') != parts[2].lastIndexOf(':');
        if (source == null || !family) {
            throw new IllegalArgumentException(ControlCharacters.quoted(parts[2]) + " is not an address of " + parts[1]);
        }
        return new Header(new InetSocketAddress(source, port(parts[4])), false);
    }

    private static int port(String text) {
        if (!text.matches("\\d{1,5}") || Integer.parseInt(text) > 65535) {
            throw new IllegalArgumentException(ControlCharacters.quoted(text) + " is not a port");
        }
        return Integer.parseInt(text);
    }

    private static Header parseV2(ByteBuf in) {
        int start = in.readerIndex();
        int known = Math.min(in.readableBytes(), V2_SIGNATURE.length);
        for (int i = 0; i < known; i++) {
            if (in.getByte(start + i) != V2_SIGNATURE[i]) {
                throw new IllegalArgumentException("neither a version 1 nor a version 2 header");
            }
        }
        if (in.readableBytes() < 16) {
            return null;
        }
        int versionCommand = in.getUnsignedByte(start + 12);
        int family = in.getUnsignedByte(start + 13);
        int length = in.getUnsignedShort(start + 14);
        if ((versionCommand >> 4) != 2 || (versionCommand & 0x0F) > 1) {
            throw new IllegalArgumentException("unknown version or command 0x" + Integer.toHexString(versionCommand));
        }
        if (length > V2_MAX_BODY) {
            throw new IllegalArgumentException("a version 2 header of " + length + " bytes");
        }
        if (in.readableBytes() < 16 + length) {
            return null;
        }
        if ((versionCommand & 0x0F) == 0) {
            // LOCAL: the proxy's own connection (a health check); its address block and TLVs are to be discarded
            in.skipBytes(16 + length);
            return Header.NO_VISITOR;
        }
        int addressBytes = switch (family >> 4) {
            case 1 -> 4;
            case 2 -> 16;
            default -> 0;
        };
        InetSocketAddress visitor = null;
        if (addressBytes > 0) {
            if (length < 2 * addressBytes + 4) {
                throw new IllegalArgumentException("a version 2 address block too short for its family");
            }
            byte[] source = new byte[addressBytes];
            in.getBytes(start + 16, source);
            int sourcePort = in.getUnsignedShort(start + 16 + 2 * addressBytes);
            try {
                visitor = new InetSocketAddress(InetAddress.getByAddress(source), sourcePort);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
        }
        int addressBlock = switch (family >> 4) {
            case 0 -> 0;
            case 1, 2 -> 2 * addressBytes + 4;
            case 3 -> 216;
            default -> -1;
        };
        // TLVs follow the address block; behind an unknown family, or a UNIX block cut short, none can be found
        boolean visitorTls = addressBlock >= 0 && addressBlock <= length
                && visitorTls(in, start + 16 + addressBlock, start + 16 + length);
        in.skipBytes(16 + length);
        return new Header(visitor, visitorTls);
    }

    /**
     * Whether the TLVs in {@code [from, end)} of {@code in} hold an SSL TLV with {@code PP2_CLIENT_SSL}; every TLV
     * must end within them. Bounded by the header's length ({@link #V2_MAX_BODY}): each TLV moves on 3 bytes or more.
     */
    private static boolean visitorTls(ByteBuf in, int from, int end) {
        boolean tls = false;
        int at = from;
        while (at < end) {
            if (end - at < TLV_HEADER) {
                throw new IllegalArgumentException("a version 2 TLV cut short by the header's end");
            }
            int type = in.getUnsignedByte(at);
            int valueLength = in.getUnsignedShort(at + 1);
            int value = at + TLV_HEADER;
            if (valueLength > end - value) {
                throw new IllegalArgumentException("a version 2 TLV of type 0x" + Integer.toHexString(type) + " and "
                        + valueLength + " bytes runs past the header's end");
            }
            if (type == PP2_TYPE_SSL) {
                if (valueLength < PP2_SSL_MIN) {
                    throw new IllegalArgumentException("an SSL TLV of " + valueLength + " bytes, shorter than its "
                            + "client and verify fields");
                }
                tls |= (in.getUnsignedByte(value) & PP2_CLIENT_SSL) != 0;
            }
            at = value + valueLength;
        }
        return tls;
    }
}
