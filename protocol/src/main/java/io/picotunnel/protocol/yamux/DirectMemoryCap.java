package io.picotunnel.protocol.yamux;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.ServiceConfigurationError;

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
        } catch (RuntimeException | LinkageError | ServiceConfigurationError e) {
            // Not HotSpot, no such option, or a runtime built without java.management or jdk.management (jlink):
            // the option as the command line sets it, else the JDK's default, the heap's maximum.
            return fromCommandLine(ProcessHandle.current().info().arguments().map(List::of).orElse(List.of()), maxHeap);
        }
    }

    /**
     * The cap a command line's last {@code -XX:MaxDirectMemorySize=} sets (a size with k, m, g or t, any case), or
     * {@code maxHeap} without one or with one unreadable. Options from JAVA_TOOL_OPTIONS are not on the command line.
     */
    static long fromCommandLine(List<String> arguments, long maxHeap) {
        String prefix = "-XX:MaxDirectMemorySize=";
        long cap = 0;
        for (String argument : arguments) {
            if (argument.startsWith(prefix)) {
                cap = parseSize(argument.substring(prefix.length()));
            }
        }
        return cap > 0 ? cap : maxHeap;
    }

    private static long parseSize(String size) {
        if (size.isEmpty()) {
            return 0;
        }
        int shift = switch (Character.toLowerCase(size.charAt(size.length() - 1))) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        String digits = shift == 0 ? size : size.substring(0, size.length() - 1);
        try {
            long value = Long.parseLong(digits);
            return value < 0 || value > (Long.MAX_VALUE >> shift) ? 0 : value << shift;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** The cap for the option's value (bytes; 0 or none: not set) in a JVM whose heap can grow to {@code maxHeap}. */
    static long of(String maxDirectMemorySize, long maxHeap) {
        long set = maxDirectMemorySize == null ? 0 : Long.parseLong(maxDirectMemorySize.strip());
        return set > 0 ? set : maxHeap;
    }
}
