package io.picotunnel.protocol.yamux;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * The most bytes this JVM lets its direct buffers hold, read from the JDK alone: {@code -XX:MaxDirectMemorySize}, or
 * the heap's maximum when it is not set (0), as the JDK's own default. Not from Netty's
 * {@code PlatformDependent.maxDirectMemory()}: the defaults that need it are computed while the programs read their
 * command line, before they configure logging, and Netty would start its logger, and Logback with its default text
 * pattern, then (b27f9c91, reverted by df0dc6c6).
 */
final class DirectMemoryCap {

    private DirectMemoryCap() {
    }

    static long ofThisJvm() {
        long maxHeap = Runtime.getRuntime().maxMemory();
        try {
            HotSpotDiagnosticMXBean hotSpot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            return of(hotSpot == null ? null : hotSpot.getVMOption("MaxDirectMemorySize").getValue(), maxHeap);
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            // Not HotSpot, no such option, or a runtime built without java.management or jdk.management (jlink):
            // the JDK's default, the heap's maximum.
            return maxHeap;
        }
    }

    /** The cap for the option's value (bytes; 0 or none: not set) in a JVM whose heap can grow to {@code maxHeap}. */
    static long of(String maxDirectMemorySize, long maxHeap) {
        long set = maxDirectMemorySize == null ? 0 : Long.parseLong(maxDirectMemorySize.strip());
        return set > 0 ? set : maxHeap;
    }
}
