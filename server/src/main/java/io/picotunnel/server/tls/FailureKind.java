package io.picotunnel.server.tls;

/**
 * What a failure of our own is for its rate-limited warning: the class of its innermost cause and where that was
 * thrown. A wrapper Netty adds (a DecoderException) or a message that names the connection do not make another kind;
 * another bug does, so one met by every connection does not hold back another's stack trace for the interval.
 */
record FailureKind(String exception, StackTraceElement where) {

    /** Causes followed at most: a chain longer, or a loop, ends the search there. */
    private static final int MAX_DEPTH = 16;

    static FailureKind of(Throwable failure) {
        Throwable innermost = failure;
        for (int depth = 0; depth < MAX_DEPTH && innermost.getCause() != null
                && innermost.getCause() != innermost; depth++) {
            innermost = innermost.getCause();
        }
        StackTraceElement[] trace = innermost.getStackTrace();
        return new FailureKind(innermost.getClass().getName(), trace.length == 0 ? null : trace[0]);
    }
}
