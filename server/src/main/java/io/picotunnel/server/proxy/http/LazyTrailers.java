package io.picotunnel.server.proxy.http;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Trailers that build their headers at the first write: Netty's HTTP/1.1 decoder gives every message with a
 * Content-Length body (a target's response, a visitor's upload) an empty trailers object of its own, and under
 * keep-alive load those were one of the larger allocations per proxied request. Reads of trailers never written to
 * answer as empty headers do; writes go to headers from the wrapped factory (with its validation), as the trailers
 * of a chunked body are.
 */
final class LazyTrailers extends HttpHeaders {

    /** Lazy trailers over Netty's default trailers (with their validation): the decoders' trailers factory. */
    static final HttpHeadersFactory FACTORY = factory(DefaultHttpHeadersFactory.trailersFactory());

    private final HttpHeadersFactory factory;
    private HttpHeaders headers;

    private LazyTrailers(HttpHeadersFactory factory) {
        this.factory = factory;
    }

    /** A factory whose {@code newHeaders} are lazy; empty headers as {@code wrapped} gives them. */
    private static HttpHeadersFactory factory(HttpHeadersFactory wrapped) {
        return new HttpHeadersFactory() {
            @Override
            public HttpHeaders newHeaders() {
                return new LazyTrailers(wrapped);
            }

            @Override
            public HttpHeaders newEmptyHeaders() {
                return wrapped.newEmptyHeaders();
            }
        };
    }

    private HttpHeaders read() {
        return headers != null ? headers : EmptyHttpHeaders.INSTANCE;
    }

    private HttpHeaders write() {
        if (headers == null) {
            headers = factory.newHeaders();
        }
        return headers;
    }

    @Override
    public String get(String name) {
        return read().get(name);
    }

    @Override
    public Integer getInt(CharSequence name) {
        return read().getInt(name);
    }

    @Override
    public int getInt(CharSequence name, int defaultValue) {
        return read().getInt(name, defaultValue);
    }

    @Override
    public Short getShort(CharSequence name) {
        return read().getShort(name);
    }

    @Override
    public short getShort(CharSequence name, short defaultValue) {
        return read().getShort(name, defaultValue);
    }

    @Override
    public Long getTimeMillis(CharSequence name) {
        return read().getTimeMillis(name);
    }

    @Override
    public long getTimeMillis(CharSequence name, long defaultValue) {
        return read().getTimeMillis(name, defaultValue);
    }

    @Override
    public List<String> getAll(String name) {
        return read().getAll(name);
    }

    // Netty's defaults of the CharSequence reads go through a String of the name or a list of getAll's: the wrapped
    // headers answer them directly.

    @Override
    public String get(CharSequence name) {
        return read().get(name);
    }

    @Override
    public List<String> getAll(CharSequence name) {
        return read().getAll(name);
    }

    @Override
    public Iterator<String> valueStringIterator(CharSequence name) {
        return read().valueStringIterator(name);
    }

    @Override
    public Iterator<? extends CharSequence> valueCharSequenceIterator(CharSequence name) {
        return read().valueCharSequenceIterator(name);
    }

    @Override
    public boolean contains(CharSequence name) {
        return read().contains(name);
    }

    @Override
    public boolean contains(String name, String value, boolean ignoreCase) {
        return read().contains(name, value, ignoreCase);
    }

    @Override
    public boolean contains(CharSequence name, CharSequence value, boolean ignoreCase) {
        return read().contains(name, value, ignoreCase);
    }

    @Override
    public boolean containsValue(CharSequence name, CharSequence value, boolean ignoreCase) {
        return read().containsValue(name, value, ignoreCase);
    }

    @Override
    public List<Map.Entry<String, String>> entries() {
        return read().entries();
    }

    @Override
    public boolean contains(String name) {
        return read().contains(name);
    }

    @Deprecated // as HttpHeaders' own
    @Override
    public Iterator<Map.Entry<String, String>> iterator() {
        return read().iterator();
    }

    @Override
    public Iterator<Map.Entry<CharSequence, CharSequence>> iteratorCharSequence() {
        return read().iteratorCharSequence();
    }

    @Override
    public boolean isEmpty() {
        return read().isEmpty();
    }

    @Override
    public int size() {
        return read().size();
    }

    @Override
    public Set<String> names() {
        return read().names();
    }

    @Override
    public HttpHeaders add(String name, Object value) {
        write().add(name, value);
        return this;
    }

    @Override
    public HttpHeaders add(String name, Iterable<?> values) {
        write().add(name, values);
        return this;
    }

    @Override
    public HttpHeaders addInt(CharSequence name, int value) {
        write().addInt(name, value);
        return this;
    }

    @Override
    public HttpHeaders addShort(CharSequence name, short value) {
        write().addShort(name, value);
        return this;
    }

    @Override
    public HttpHeaders set(String name, Object value) {
        write().set(name, value);
        return this;
    }

    @Override
    public HttpHeaders set(String name, Iterable<?> values) {
        write().set(name, values);
        return this;
    }

    @Override
    public HttpHeaders setInt(CharSequence name, int value) {
        write().setInt(name, value);
        return this;
    }

    @Override
    public HttpHeaders setShort(CharSequence name, short value) {
        write().setShort(name, value);
        return this;
    }

    @Override
    public HttpHeaders remove(String name) {
        if (headers != null) {
            headers.remove(name);
        }
        return this;
    }

    @Override
    public HttpHeaders clear() {
        if (headers != null) {
            headers.clear();
        }
        return this;
    }

    /** A copy of trailers never written is lazy too: a kept upload body ({@link BodyCopy}) copies every one. */
    @Override
    public HttpHeaders copy() {
        return headers != null ? headers.copy() : new LazyTrailers(factory);
    }
}
