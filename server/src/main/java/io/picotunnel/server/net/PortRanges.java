package io.picotunnel.server.net;

import io.picotunnel.protocol.text.AsciiNumbers;
import io.picotunnel.protocol.text.ControlCharacters;

import java.util.ArrayList;
import java.util.List;

/**
 * A set of TCP ports written as frp's {@code allowPorts}: single ports and inclusive ranges separated by commas,
 * e.g. {@code 2000-3000,3306,8000-8100}.
 */
public final class PortRanges {

    private record Range(int from, int to) {
        @Override
        public String toString() {
            return from == to ? Integer.toString(from) : from + "-" + to;
        }
    }

    private final List<Range> ranges;

    private PortRanges(List<Range> ranges) {
        this.ranges = List.copyOf(ranges);
    }

    /** Parses {@code text}; throws {@link IllegalArgumentException} with a sentence naming the bad part. */
    public static PortRanges parse(String text) {
        List<Range> ranges = new ArrayList<>();
        for (String part : text.split(",")) {
            String item = part.trim();
            if (item.isEmpty()) {
                continue;
            }
            int dash = item.indexOf('-');
            int from = port(dash < 0 ? item : item.substring(0, dash), item);
            int to = dash < 0 ? from : port(item.substring(dash + 1), item);
            if (from > to) {
                throw new IllegalArgumentException(
                        ControlCharacters.quoted(item) + " is a range whose start is above its end");
            }
            ranges.add(new Range(from, to));
        }
        if (ranges.isEmpty()) {
            throw new IllegalArgumentException("no port given; write ranges and ports such as 1024-65535 or 2000-3000,3306");
        }
        return new PortRanges(ranges);
    }

    private static int port(String text, String item) {
        try {
            // Digits only: no sign ("+3000", "-0"), as no other program writes a port with one.
            String digits = text.trim();
            int port = AsciiNumbers.isDigits(digits) ? AsciiNumbers.parseInt(digits) : 0;
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(
                ControlCharacters.quoted(item) + " is not a port (1-65535) or a range such as 2000-3000");
    }

    public boolean contains(int port) {
        for (Range range : ranges) {
            if (port >= range.from && port <= range.to) {
                return true;
            }
        }
        return false;
    }

    /** How many ports the set holds (a port written twice counts twice), at most {@link Integer#MAX_VALUE}. */
    public int size() {
        long size = 0;
        for (Range range : ranges) {
            size += range.to - range.from + 1;
        }
        return (int) Math.min(size, Integer.MAX_VALUE);
    }

    /** The port at {@code index} (0 to {@link #size()} - 1), counting through the ranges in the order written. */
    public int portAt(int index) {
        int rest = index;
        for (Range range : ranges) {
            int length = range.to - range.from + 1;
            if (rest < length) {
                return range.from + rest;
            }
            rest -= length;
        }
        throw new IndexOutOfBoundsException("port " + index + " of " + size());
    }

    /** As written to be parsed again: {@code 1024-65535} or {@code 2000-3000,3306}. */
    @Override
    public String toString() {
        return String.join(",", ranges.stream().map(Range::toString).toList());
    }
}
