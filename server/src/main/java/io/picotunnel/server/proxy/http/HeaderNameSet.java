package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Header names matched ignoring case, and optionally every name with a given prefix: for removing many names
 * from a message in one pass over its few headers, instead of one hash lookup per name in the set. An underscore
 * matches a hyphen: CGI, WSGI, Rack and PHP targets read {@code X_PicoTunnel_User} as {@code X-PicoTunnel-User}.
 */
final class HeaderNameSet {

    private final AsciiString[][] buckets;
    private final int mask;
    private final AsciiString prefix;

    private HeaderNameSet(List<? extends CharSequence> names, CharSequence prefix) {
        int size = Integer.highestOneBit(Math.max(1, names.size()) * 2 - 1) * 2;
        this.mask = size - 1;
        List<List<AsciiString>> lists = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            lists.add(new ArrayList<>(1));
        }
        for (CharSequence name : names) {
            lists.get(AsciiString.hashCode(name) & mask).add(AsciiString.of(name));
        }
        this.buckets = new AsciiString[size][];
        for (int i = 0; i < size; i++) {
            buckets[i] = lists.get(i).toArray(AsciiString[]::new);
        }
        this.prefix = prefix == null ? null : AsciiString.of(prefix);
    }

    static HeaderNameSet of(List<? extends CharSequence> names) {
        return new HeaderNameSet(names, null);
    }

    /** The names, and every name that starts with {@code prefix}. */
    static HeaderNameSet of(List<? extends CharSequence> names, CharSequence prefix) {
        return new HeaderNameSet(names, prefix);
    }

    boolean contains(CharSequence name) {
        if (matches(name)) {
            return true;
        }
        for (int i = 0; i < name.length(); i++) {
            if (name.charAt(i) == '_') {
                return matches(name.toString().replace('_', '-'));
            }
        }
        return false;
    }

    private boolean matches(CharSequence name) {
        for (AsciiString candidate : buckets[AsciiString.hashCode(name) & mask]) {
            if (candidate.contentEqualsIgnoreCase(name)) {
                return true;
            }
        }
        return prefix != null && name.length() >= prefix.length()
                && AsciiString.regionMatches(name, true, 0, prefix, 0, prefix.length());
    }

    /** Removes every header of {@code headers} whose name is in this set. */
    void removeFrom(HttpHeaders headers) {
        removeFrom(headers, null);
    }

    /**
     * Removes every header of {@code headers} whose name is in this set or in {@code also} (when not null): one pass
     * over the headers, one iterator, for both sets.
     */
    void removeFrom(HttpHeaders headers, HeaderNameSet also) {
        CharSequence first = null;
        List<CharSequence> more = null;
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
            CharSequence name = it.next().getKey();
            if (contains(name) || also != null && also.contains(name)) {
                if (first == null) {
                    first = name;
                } else {
                    if (more == null) {
                        more = new ArrayList<>(2);
                    }
                    more.add(name);
                }
            }
        }
        if (first != null) {
            headers.remove(first);
        }
        if (more != null) {
            for (CharSequence name : more) {
                headers.remove(name);
            }
        }
    }
}
