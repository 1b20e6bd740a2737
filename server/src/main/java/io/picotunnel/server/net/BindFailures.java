package io.picotunnel.server.net;

import io.netty.channel.unix.Errors;

import java.net.BindException;
import java.util.Locale;

/**
 * What a failed bind means, whichever transport bound: NIO and the JDK throw {@link BindException}; epoll throws a
 * {@link Errors.NativeIoException} carrying the errno ("bind(..) failed with error(-98): Address already in use").
 */
public final class BindFailures {

    /** Linux's errno for an address in use; epoll runs on Linux only. */
    private static final int EADDRINUSE = 98;

    private BindFailures() {
    }

    /** Whether {@code failure}, or one of its causes, says another socket holds the address. */
    public static boolean inUse(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof Errors.NativeIoException nativeFailure && nativeFailure.expectedErr() == -EADDRINUSE) {
                return true;
            }
            if (cause instanceof BindException bind && bind.getMessage() != null
                    && bind.getMessage().toLowerCase(Locale.ROOT).contains("already in use")) {
                return true;
            }
        }
        return false;
    }
}
