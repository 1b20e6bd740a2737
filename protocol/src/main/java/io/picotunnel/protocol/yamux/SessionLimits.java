package io.picotunnel.protocol.yamux;

import io.picotunnel.protocol.config.ByteSize;
import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;

import java.util.Optional;

/**
 * The yamux limits an operator sets, on the server and on the client alike.
 *
 * @param maxStreamWindow     largest receive window per stream (auto-tuned from 256 KiB up to it); {@link #parse}
 *                            keeps it to half the buffer limit at most ({@link YamuxConfig#windowWithin})
 * @param sessionWindowBudget how much all windows of one session may grow in all beyond 256 KiB each
 * @param maxStreams          most open streams per session
 * @param sessionBufferLimit  most bytes all streams of one session may hold for readers that have not taken them
 * @param askedStreamWindow   the window asked for (--max-stream-window or its default), which
 *                            {@code maxStreamWindow} may be below: {@link #windowKept}
 */
public record SessionLimits(int maxStreamWindow, long sessionWindowBudget, int maxStreams, long sessionBufferLimit,
                            int askedStreamWindow) {

    private static final int MAX_STREAMS_LIMIT = 1_000_000;

    public static final SessionLimits DEFAULTS = new SessionLimits(
            YamuxConfig.windowWithin(YamuxConfig.DEFAULT_MAX_STREAM_WINDOW, YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT),
            YamuxConfig.DEFAULT_SESSION_WINDOW_BUDGET, YamuxConfig.DEFAULT_MAX_STREAMS,
            YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT, YamuxConfig.DEFAULT_MAX_STREAM_WINDOW);

    /** The limits as given, the window being the one asked for. */
    public SessionLimits(int maxStreamWindow, long sessionWindowBudget, int maxStreams, long sessionBufferLimit) {
        this(maxStreamWindow, sessionWindowBudget, maxStreams, sessionBufferLimit, maxStreamWindow);
    }

    /** The first three settings, the buffer limit at its default. */
    public SessionLimits(int maxStreamWindow, long sessionWindowBudget, int maxStreams) {
        this(maxStreamWindow, sessionWindowBudget, maxStreams, YamuxConfig.DEFAULT_SESSION_BUFFER_LIMIT);
    }

    /** Which of the three settings a value was wrong for, and why, in a sentence. */
    public static final class InvalidLimit extends IllegalArgumentException {
        private final int which;

        InvalidLimit(int which, String message) {
            super(message);
            this.which = which;
        }

        /** 0: the stream window, 1: the session budget, 2: the stream count, 3: the buffer limit. */
        public int which() {
            return which;
        }
    }

    /**
     * Parses the settings (sizes like {@code 16MiB}, the stream count a whole number); null keeps the default. Says
     * nothing: the process reports {@link #windowKept} once when it starts.
     */
    public static SessionLimits parse(String maxStreamWindow, String sessionWindowBudget, String maxStreams,
                                      String sessionBufferLimit) {
        long window = maxStreamWindow == null ? YamuxConfig.DEFAULT_MAX_STREAM_WINDOW : size(0, maxStreamWindow);
        if (window < YamuxConfig.INITIAL_STREAM_WINDOW || window > 1L << 30) {
            throw new InvalidLimit(0, "it must be between 256KiB and 1GiB");
        }
        long budget = sessionWindowBudget == null ? DEFAULTS.sessionWindowBudget : size(1, sessionWindowBudget);
        int streams = maxStreams == null ? DEFAULTS.maxStreams : streamCount(maxStreams);
        long buffered = sessionBufferLimit == null ? DEFAULTS.sessionBufferLimit : size(3, sessionBufferLimit);
        if (buffered < YamuxConfig.INITIAL_STREAM_WINDOW) {
            throw new InvalidLimit(3, "it must be at least 256KiB");
        }
        return new SessionLimits(YamuxConfig.windowWithin(window, buffered), budget, streams, buffered,
                (int) window);
    }

    /**
     * When the buffer limit keeps stream windows below the one asked for, the sentence that says so, for the server
     * or the client to log once at start; else empty.
     */
    public Optional<String> windowKept() {
        if (maxStreamWindow >= askedStreamWindow) {
            return Optional.empty();
        }
        return Optional.of("Stream windows grow to at most " + maxStreamWindow + " bytes, half of"
                + " --session-buffer-limit (" + sessionBufferLimit + " bytes), not to --max-stream-window ("
                + askedStreamWindow + " bytes): a stream whose reader keeps up may hold a whole window for a moment,"
                + " and alone it must not go over the limit and be reset");
    }

    /** A count, not a size: "lots", "-1" and "64k" are refused as the programs' other counts refuse them. */
    private static int streamCount(String text) {
        try {
            // trim, not strip: it takes off only ASCII spaces and control characters (up to U+0020), as SettingValues
            // does for every other count, so "100\u3000" is refused.
            int streams = AsciiNumbers.parseInt(text.trim());
            if (streams >= 1 && streams <= MAX_STREAMS_LIMIT) {
                return streams;
            }
        } catch (NumberFormatException e) {
            // Said below, as a number out of range is.
        }
        throw new InvalidLimit(2, ControlCharacters.quoted(text) + " is not a whole number from 1 to " + MAX_STREAMS_LIMIT);
    }

    private static long size(int which, String text) {
        try {
            return ByteSize.parse(text);
        } catch (IllegalArgumentException e) {
            throw new InvalidLimit(which, e.getMessage());
        }
    }

    /** {@link YamuxConfig#defaults()} with these limits. */
    public YamuxConfig yamux() {
        return YamuxConfig.defaults().withMaxStreamWindow(maxStreamWindow).withSessionWindowBudget(sessionWindowBudget)
                .withMaxStreams(maxStreams).withSessionBufferLimit(sessionBufferLimit);
    }
}
