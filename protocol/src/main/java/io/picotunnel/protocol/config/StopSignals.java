package io.picotunnel.protocol.config;

import org.slf4j.Logger;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Ctrl-C and SIGTERM as people at a terminal expect them (cloudflared, docker compose): the first stops the server or
 * client gracefully, through the JVM's shutdown and its hook, and a second one cuts the grace period short. The JVM
 * alone ignores every signal after the first while its shutdown hooks run, so the only way out was a SIGKILL.
 *
 * <p>A signal within {@link #SAME_REQUEST} of the first is the same request: {@code timeout} and {@code kill -- -PGID}
 * can deliver SIGTERM twice within milliseconds, which skipped the grace period nobody meant to skip.
 *
 * <p>sun.misc.Signal is reached by reflection: javac warns of it as internal API, a warning nothing suppresses, and
 * the build treats warnings as errors. Where it cannot be reached, the JVM's own handling stays.
 */
public final class StopSignals {

    /** How soon after the first a signal is taken as the same request to stop, not as one to cut the grace short. */
    public static final Duration SAME_REQUEST = Duration.ofSeconds(1);

    /** What a second signal does once the server or client runs, as {@code now} logs it. */
    public static final String CUT_SHORT = "second signal: resetting the open streams now instead of waiting for the grace period";

    private static final long NONE = Long.MIN_VALUE;

    private StopSignals() {
    }

    /**
     * Handles SIGINT and SIGTERM from now on: the first exits the JVM (running its hooks), one within
     * {@link #SAME_REQUEST} of it is ignored, and the later ones run {@code now}, which logs what it does ({@link
     * #CUT_SHORT}, or what it does instead while the program is starting): one line for one signal.
     */
    public static void install(Runnable now, Logger log) {
        AtomicLong first = new AtomicLong(NONE);
        Runnable onSignal = () -> {
            long at = System.nanoTime();
            if (first.compareAndSet(NONE, at)) {
                System.exit(0); // the program's shutdown hook does the stop
            } else if (at - first.get() < SAME_REQUEST.toNanos()) {
                log.debug("a signal within {} of the first: the same request to stop", Durations.format(SAME_REQUEST));
            } else {
                now.run();
            }
        };
        InvocationHandler calls = (proxy, method, args) -> switch (method.getName()) {
            case "handle" -> {
                onSignal.run();
                yield null;
            }
            case "equals" -> proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            default -> "StopSignals";
        };
        // One by one: a signal ignored from the start (SIGINT of a background job) is left as it is.
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                Class<?> signal = Class.forName("sun.misc.Signal");
                Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
                Object handler = Proxy.newProxyInstance(StopSignals.class.getClassLoader(), new Class<?>[] {handlerType},
                        calls);
                signal.getMethod("handle", signal, handlerType)
                        .invoke(null, signal.getConstructor(String.class).newInstance(name), handler);
            } catch (ReflectiveOperationException | RuntimeException e) {
                log.debug("a second SIG{} cannot cut the grace period short: {}", name, e.toString());
            }
        }
    }
}
