package io.picotunnel.server.net;

import io.netty.channel.unix.Errors;

import java.net.BindException;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;

/**
 * What a failed bind means, whichever transport bound: NIO and the JDK throw {@link BindException}; epoll throws a
 * {@link Errors.NativeIoException} carrying the errno ("bind(..) failed with error(-98): Address already in use").
 */
public final class BindFailures {

    /** Linux's errnos for an address in use and for a port this process may not bind; epoll runs on Linux only. */
    private static final int EADDRINUSE = 98;
    private static final int EACCES = 13;

    private BindFailures() {
    }

    /** Whether {@code failure}, or one of its causes, says another socket holds the address. */
    public static boolean inUse(Throwable failure) {
        return says(failure, EADDRINUSE, "already in use");
    }

    /**
     * Whether {@code failure}, or one of its causes, says this process may not bind the port: a port below 1024
     * without root or CAP_NET_BIND_SERVICE.
     */
    public static boolean notPermitted(Throwable failure) {
        return says(failure, EACCES, "permission denied");
    }

    /**
     * Whether {@code failure}, or one of its causes, says the host name to bind did not resolve. NIO throws an
     * {@link UnresolvedAddressException} without a message; Jetty, under the API's listener, has it among the causes of
     * its own "Failed to bind", which Javalin words as a port in use.
     */
    public static boolean unresolved(Throwable failure) {
        int depth = 0;
        for (Throwable cause = failure; cause != null && depth < 8; cause = cause.getCause(), depth++) {
            if (cause instanceof UnresolvedAddressException) {
                return true;
            }
        }
        return false;
    }

    /**
     * What a failed bind of {@code port} means, as the words after "cannot listen on ADDRESS: ", or null when it is
     * neither a port in use nor one this process may not bind (the failure's own message says more then).
     */
    public static String reason(int port, Throwable failure) {
        if (inUse(failure)) {
            return "port " + port + " is already in use by another program";
        }
        if (!notPermitted(failure)) {
            return null;
        }
        if (port < 1024) {
            return "the server may not listen on port " + port
                    + ": ports below 1024 need it to run as root or with CAP_NET_BIND_SERVICE";
        }
        // Only the privileged ports need a capability: above them a mandatory access control policy refused it.
        return "the server is not allowed to listen on port " + port
                + " (a security policy such as SELinux may forbid it)";
    }

    private static boolean says(Throwable failure, int errno, String bindMessage) {
        // A few causes deep at the most: a chain of causes can loop.
        int depth = 0;
        for (Throwable cause = failure; cause != null && depth < 8; cause = cause.getCause(), depth++) {
            if (cause instanceof Errors.NativeIoException nativeFailure && nativeFailure.expectedErr() == -errno) {
                return true;
            }
            if (cause instanceof BindException bind && bind.getMessage() != null
                    && bind.getMessage().toLowerCase(Locale.ROOT).contains(bindMessage)) {
                return true;
            }
        }
        return false;
    }
}
