package io.picotunnel.server;

import io.picotunnel.server.config.Setting;
import io.picotunnel.server.net.BindFailures;
import io.picotunnel.server.net.HostPort;

import java.net.BindException;
import java.util.Locale;

/** The server cannot start. The message is one sentence for the operator: what happened and what to do. */
public final class StartupException extends RuntimeException {

    private final boolean permanent;

    public StartupException(String message) {
        this(message, null, false);
    }

    public StartupException(String message, Throwable cause) {
        this(message, cause, false);
    }

    /** @param permanent starting again cannot help until the operator acts (a corrupt or newer database) */
    public StartupException(String message, Throwable cause, boolean permanent) {
        super(message, cause);
        this.permanent = permanent;
    }

    /** Starting again cannot help until the operator acts: a service manager should not restart the server. */
    public boolean permanent() {
        return permanent;
    }

    /**
     * A listener of {@code setting} could not bind {@code address}; {@code failure} is what the bind threw
     * ({@link BindFailures} tells a host name that does not resolve, a port in use and a port not permitted, with
     * either transport; a {@link BindException} anywhere in its causes gives any other reason, such as an address of
     * another machine).
     */
    public static StartupException cannotBind(Setting setting, HostPort address, Throwable failure) {
        String how = " with " + setting.flag() + " or " + setting.envVar();
        BindException bind = findBindException(failure);
        String reason = bind == null || bind.getMessage() == null ? String.valueOf(failure.getMessage())
                : bind.getMessage().toLowerCase(Locale.ROOT);
        if (BindFailures.unresolved(failure)) {
            return new StartupException("Cannot listen on " + address + " (" + setting.flag() + "): the host name "
                    + address.host() + " does not resolve to an address; give an address of this machine (127.0.0.1, or"
                    + " leave the host out, :" + address.port() + ", for every interface)" + how + ".", failure);
        }
        if (BindFailures.inUse(failure)) {
            return new StartupException("Port " + address.port() + " is already in use (" + setting.flag() + " " + address
                    + "); stop the program using it or choose another address" + how + ".", failure);
        }
        if (BindFailures.notPermitted(failure) && address.port() < 1024) {
            return new StartupException("Not allowed to listen on port " + address.port() + " (" + setting.flag() + " " + address
                    + "); ports below 1024 need root or CAP_NET_BIND_SERVICE (under systemd:"
                    + " AmbientCapabilities=CAP_NET_BIND_SERVICE), or choose another port" + how + ".", failure);
        }
        if (BindFailures.notPermitted(failure)) {
            return new StartupException("Not allowed to listen on port " + address.port() + " (" + setting.flag() + " "
                    + address + "); a security policy such as SELinux may forbid it: allow the port, or choose another"
                    + " port" + how + ".", failure);
        }
        return new StartupException("Cannot listen on " + address + " (" + setting.flag() + "): " + reason
                + "; choose another address" + how + ".", failure);
    }

    private static BindException findBindException(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof BindException bind) {
                return bind;
            }
        }
        return null;
    }
}
