package io.picotunnel.protocol.config;

import org.slf4j.Logger;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Ctrl-C and SIGTERM as people at a terminal expect them (cloudflared, docker compose): the first stops the server or
 * client gracefully, through the JVM's shutdown and its hook, and a second one cuts the grace period short. The JVM
 * alone ignores every signal after the first while its shutdown hooks run, so the only way out was a SIGKILL.
 *
 * <p>sun.misc.Signal is reached by reflection: javac warns of it as internal API, a warning nothing suppresses, and
 * the build treats warnings as errors. Where it cannot be reached, the JVM's own handling stays.
 */
public final class StopSignals {

    private StopSignals() {
    }

    /** Handles SIGINT and SIGTERM from now on: the first exits the JVM (running its hooks), the next run {@code now}. */
    public static void install(Runnable now, Logger log) {
        AtomicInteger received = new AtomicInteger();
        Runnable onSignal = () -> {
            if (received.incrementAndGet() == 1) {
                System.exit(0); // the shutdown hook stops the process and sets its exit code
            } else {
                log.warn("second signal: resetting the open streams now instead of waiting for the grace period");
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
