package io.picotunnel.client.tunnel;

import io.picotunnel.protocol.config.PrintableToken;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/**
 * What the client tells the server about itself with the WebSocket upgrade, for people looking at the tunnel:
 * its version and the name of its host. Neither is a secret nor is trusted by the server.
 */
public final class ClientIdentity {

    /** Sent with the upgrade request; the server shows them in the tunnel's {@code clients}. */
    public static final String VERSION_HEADER = "X-PicoTunnel-Client-Version";
    public static final String HOSTNAME_HEADER = "X-PicoTunnel-Client-Hostname";

    private static final int MAX_LENGTH = 253;

    private ClientIdentity() {
    }

    /** The version baked into the jar at build time, or {@code dev}. */
    public static String version() {
        try (InputStream in = ClientIdentity.class.getResourceAsStream("/io/picotunnel/client/version.properties")) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "dev");
        } catch (IOException e) {
            return "dev";
        }
    }

    /**
     * This host's name: the kernel's (Linux), else {@code HOSTNAME} or {@code COMPUTERNAME}, else the JDK's
     * (which may ask DNS); null when none is known. Call it off the event loop.
     */
    public static String hostname() {
        String name = null;
        try {
            Path kernel = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(kernel)) {
                name = clean(Files.readString(kernel));
            }
        } catch (IOException | RuntimeException e) {
            name = null;
        }
        if (name == null) {
            name = clean(System.getenv("HOSTNAME"));
        }
        if (name == null) {
            name = clean(System.getenv("COMPUTERNAME"));
        }
        if (name == null) {
            try {
                name = clean(InetAddress.getLocalHost().getHostName());
            } catch (IOException e) {
                name = null;
            }
        }
        return name;
    }

    /** Printable ASCII only (a header value), trimmed, bounded; null when nothing is left. */
    static String clean(String value) {
        if (value == null) {
            return null;
        }
        StringBuilder out = new StringBuilder();
        value.chars().filter(PrintableToken::isPrintable).limit(MAX_LENGTH).forEach(c -> out.append((char) c));
        return out.isEmpty() ? null : out.toString();
    }
}
