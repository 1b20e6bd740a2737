package io.picotunnel.protocol.yamux;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.Set;

/**
 * The most bytes this JVM lets its direct buffers hold, read from the JDK: {@code -XX:MaxDirectMemorySize}, or the
 * heap's maximum when it is not set (0), as the JDK's own default; in a runtime without the management modules, read
 * from the JVM's options as the launcher and the JVM take them. Not from Netty's
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
            if (hotSpot == null) {
                return fromOptions(jvmOptions(), maxHeap);
            }
            return of(hotSpot.getVMOption("MaxDirectMemorySize").getValue(), maxHeap);
        } catch (RuntimeException | LinkageError | ServiceConfigurationError e) {
            // Not HotSpot, no such option, or a runtime built without java.management or jdk.management (jlink):
            // the option as the command line sets it, else the JDK's default, the heap's maximum.
            return fromOptions(jvmOptions(), maxHeap);
        }
    }

    /**
     * The JVM's options in the order it applies them, the last winning: JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS (the
     * launcher's, not on the command line), the command line's up to the main class, _JAVA_OPTIONS. Not those of an
     * {@code @argfile}, {@code -XX:VMOptionsFile} or a jlink image's {@code --add-options}.
     */
    private static List<String> jvmOptions() {
        List<String> options = new ArrayList<>(split(System.getenv("JAVA_TOOL_OPTIONS")));
        options.addAll(split(System.getenv("JDK_JAVA_OPTIONS")));
        options.addAll(beforeTheMainClass(ProcessHandle.current().info().arguments().map(List::of).orElse(List.of())));
        options.addAll(split(System.getenv("_JAVA_OPTIONS")));
        return options;
    }

    private static List<String> split(String options) {
        return options == null || options.isBlank() ? List.of() : List.of(options.strip().split("\\s+"));
    }

    /** The launcher's arguments up to the main class, {@code -jar} or {@code -m}: what follows is the program's. */
    static List<String> beforeTheMainClass(List<String> arguments) {
        List<String> options = new ArrayList<>();
        for (int i = 0; i < arguments.size(); i++) {
            String argument = arguments.get(i);
            if (argument.startsWith("@")) {
                continue; // an argument file, unread: the options after it still count
            }
            if (!argument.startsWith("-") || ENDING_OPTIONS.contains(argument) || argument.startsWith("--module=")) {
                break;
            }
            options.add(argument);
            if (OPTIONS_WITH_A_VALUE.contains(argument)) {
                i++;
            }
        }
        return options;
    }

    private static final Set<String> ENDING_OPTIONS = Set.of("-jar", "-m", "--module", "--source");
    private static final Set<String> OPTIONS_WITH_A_VALUE = Set.of("-cp", "-classpath", "--class-path", "-p",
            "--module-path", "--upgrade-module-path", "--add-modules", "--limit-modules", "--add-exports",
            "--add-reads", "--add-opens", "--patch-module", "--enable-native-access");

    /**
     * The cap the last {@code -XX:MaxDirectMemorySize=} of {@code options} sets (a size with k, m, g or t, any case),
     * or {@code maxHeap} without one or with one unreadable.
     */
    static long fromOptions(List<String> options, long maxHeap) {
        String prefix = "-XX:MaxDirectMemorySize=";
        long cap = 0;
        for (String option : options) {
            if (option.startsWith(prefix)) {
                cap = parseSize(option.substring(prefix.length()));
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
