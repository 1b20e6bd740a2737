package io.picotunnel.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A TCP socket as /proc/net/tcp and tcp6 show it: {@code state} as the kernel numbers it ({@link #FIN_WAIT1} once its
 * output is shut with bytes still unacknowledged), {@code queued} the bytes not yet acknowledged, {@code unread} the
 * bytes received that its process has not read yet, {@code inode} 0 once its process closed it.
 */
public record KernelSocket(int state, long queued, long unread, long inode) {

    public static final int FIN_WAIT1 = 0x04;
    /** The peer's end of output has arrived. */
    public static final int CLOSE_WAIT = 0x08;

    public static KernelSocket find(int localPort, int remotePort) throws IOException {
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            List<String> lines = Files.readAllLines(Path.of(table));
            for (String line : lines.subList(1, lines.size())) {
                String[] f = line.trim().split("\\s+");
                int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
                int remote = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                if (local == localPort && remote == remotePort) {
                    int colon = f[4].indexOf(':');
                    return new KernelSocket(Integer.parseInt(f[3], 16), Long.parseLong(f[4].substring(0, colon), 16),
                            Long.parseLong(f[4].substring(colon + 1), 16), Long.parseLong(f[9]));
                }
            }
        }
        return null;
    }
}
