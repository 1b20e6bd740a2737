package io.picotunnel.testkit;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * One rule of a {@link TestNamesResolverProvider}: the names that end with a suffix either resolve to a loopback
 * address, after a delay if one is given, or do not resolve at all.
 */
public final class NameRule {

    /** Longest a lookup of a {@link #heldWhenAsked()} rule waits for {@link #release()}. */
    public static final Duration MAX_HOLD = Duration.ofSeconds(60);

    private final String suffix;
    /** The addresses a name resolves to, in order; null for names that do not resolve. */
    private final List<byte[]> addresses;
    private final Duration delay;
    /** Null, or the gate lookups wait at while it is closed, as a DNS server that does not answer yet. */
    private final Gate gate;
    private final AtomicInteger lookups = new AtomicInteger();

    private NameRule(String suffix, List<byte[]> addresses, Duration delay, Gate gate) {
        this.suffix = suffix.toLowerCase(Locale.ROOT);
        this.addresses = addresses;
        this.delay = delay;
        this.gate = gate;
    }

    /**
     * Names ending with {@code suffix} resolve to {@code loopbacks}, literal loopback addresses (127.0.0.1, ::1), in
     * this order, as a system resolver answers a name with an A and an AAAA record.
     */
    public static NameRule resolveTo(String suffix, String... loopbacks) {
        if (loopbacks.length == 0) {
            throw new IllegalArgumentException("no address for " + suffix);
        }
        return new NameRule(suffix, Stream.of(loopbacks).map(NameRule::loopbackBytes).toList(), Duration.ZERO, null);
    }

    /** Names ending with {@code suffix} do not resolve. */
    public static NameRule unknown(String suffix) {
        return new NameRule(suffix, null, Duration.ZERO, null);
    }

    /** This rule, with each lookup blocking its caller for {@code delay} first, as a DNS server that is slow. */
    public NameRule after(Duration delay) {
        if (addresses == null) {
            throw new IllegalStateException("a delay is for names that resolve");
        }
        return new NameRule(suffix, addresses, delay, gate);
    }

    /**
     * This rule, with each lookup waiting while {@link #hold()} is in force, until {@link #release()} (or at most
     * {@link #MAX_HOLD}): a DNS server whose answer a test lets through when it wants.
     */
    public NameRule heldWhenAsked() {
        if (addresses == null) {
            throw new IllegalStateException("a hold is for names that resolve");
        }
        return new NameRule(suffix, addresses, delay, new Gate());
    }

    /** From now on, lookups of this rule wait until {@link #release()}. */
    public void hold() {
        gateOrFail().close();
    }

    /** Lets every waiting and later lookup of this rule through. */
    public void release() {
        gateOrFail().open();
    }

    private Gate gateOrFail() {
        if (gate == null) {
            throw new IllegalStateException("not a rule made with heldWhenAsked()");
        }
        return gate;
    }

    /** Open or closed; lookups pass an open gate and wait at a closed one. */
    private static final class Gate {
        private CountDownLatch closed = new CountDownLatch(0);

        synchronized void close() {
            if (closed.getCount() == 0) {
                closed = new CountDownLatch(1);
            }
        }

        synchronized void open() {
            closed.countDown();
        }

        void pass() throws InterruptedException {
            CountDownLatch now;
            synchronized (this) {
                now = closed;
            }
            now.await(MAX_HOLD.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Lookups this rule has begun so far. */
    public int lookupsBegun() {
        return lookups.get();
    }

    /** The end of the names this rule answers. */
    String suffix() {
        return suffix;
    }

    boolean answers(String host) {
        return host.toLowerCase(Locale.ROOT).endsWith(suffix);
    }

    Stream<InetAddress> lookup(String host) throws UnknownHostException {
        if (addresses == null) {
            throw new UnknownHostException(host);
        }
        lookups.incrementAndGet();
        if (gate != null) {
            try {
                gate.pass();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (delay.isPositive()) {
            try {
                // The delay simulated is the point: the resolver blocks its caller this long.
                TimeUnit.MILLISECONDS.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        List<InetAddress> answer = new ArrayList<>();
        for (byte[] address : addresses) {
            answer.add(InetAddress.getByAddress(host, address.clone()));
        }
        return answer.stream();
    }

    private static byte[] loopbackBytes(String loopback) {
        try {
            InetAddress address = InetAddress.getByName(loopback);
            if (!address.isLoopbackAddress()) {
                throw new IllegalArgumentException("not a loopback address: " + loopback);
            }
            return address.getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an address: " + loopback, e);
        }
    }
}
