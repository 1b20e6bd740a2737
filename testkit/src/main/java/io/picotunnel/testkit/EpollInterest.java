package io.picotunnel.testkit;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The events an epoll instance of this process asks the kernel to report for one of its sockets, as
 * /proc/self/fdinfo shows them for the epoll fd that watches it: the interest set the transport asked for, whatever
 * has happened on the socket yet.
 */
public final class EpollInterest {

    /** The peer has ended its output: Netty's epoll reads the socket to its end at this event. */
    public static final int EPOLLRDHUP = 0x2000;

    private static final Path FDS = Path.of("/proc/self/fd");

    private EpollInterest() {
    }

    /**
     * Whether epoll is asked to report the end of the peer's output (EPOLLRDHUP) for this process's TCP socket from
     * {@code localPort} to {@code remotePort}. Netty stops asking once the event came: check before the peer's FIN.
     */
    public static boolean asksForThePeersEnd(int localPort, int remotePort) throws IOException {
        KernelSocket socket = KernelSocket.find(localPort, remotePort);
        assertThat(socket).as("the socket from port %d to port %d", localPort, remotePort).isNotNull();
        OptionalInt events = of(socket.inode());
        assertThat(events).as("the events epoll watches the socket for").isPresent();
        return (events.getAsInt() & EPOLLRDHUP) != 0;
    }

    /** The events asked for the socket with {@code inode} ({@link KernelSocket#inode}); empty if no epoll watches it. */
    public static OptionalInt of(long inode) throws IOException {
        String socket = "socket:[" + inode + "]";
        Integer fd = null;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(FDS)) {
            for (Path link : fds) {
                if (socket.equals(target(link))) {
                    fd = Integer.valueOf(link.getFileName().toString());
                }
            }
        }
        if (fd == null) {
            return OptionalInt.empty();
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(FDS)) {
            for (Path link : fds) {
                if ("anon_inode:[eventpoll]".equals(target(link))) {
                    OptionalInt events = eventsFor(link.getFileName().toString(), fd);
                    if (events.isPresent()) {
                        return events;
                    }
                }
            }
        }
        return OptionalInt.empty();
    }

    /** From lines such as {@code tfd:       42 events:     2019 data: ...} (events in hex). */
    private static OptionalInt eventsFor(String epollFd, int fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo", epollFd))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].equals("tfd:") && f[1].equals(Integer.toString(fd)) && f[2].equals("events:")) {
                return OptionalInt.of(Integer.parseUnsignedInt(f[3], 16)); // EPOLLET is the top bit
            }
        }
        return OptionalInt.empty();
    }

    private static String target(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException closedMeanwhile) {
            return "";
        }
    }
}
