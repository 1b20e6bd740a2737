package io.picotunnel.testkit;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A small SOCKS5 proxy (RFC 1928, with RFC 1929's user and password) on 127.0.0.1, written on plain sockets so that
 * it shares no code with the client's. It takes only the CONNECT command. A name (address type 3) is dialled as
 * 127.0.0.1 at the port asked, whatever it is, so a test can name the server {@code tunnel.test} and see that the
 * name was left to the proxy; an address is dialled only when it is a loopback one (else reply 2, not allowed). It
 * can ask for a user and password (method 2; a wrong pair gets status 1 and a close, a client that offers no
 * password method gets 0xFF), or answer every connect with a reply code (2 not allowed by ruleset, 4 host
 * unreachable, 5 connection refused...), or read the client's greeting and never answer, or close the connection
 * once the greeting has come. It records each connect request, and when each greeting came.
 */
public final class Socks5Proxy implements AutoCloseable {

    /** A connect request: the address type (1 IPv4, 3 name, 4 IPv6), the host as sent, the port, the user (or null). */
    public record Request(int addressType, String host, int port, String user) {
    }

    /** What the proxy does once a client's greeting has come. */
    private enum OnGreeting {
        SERVE, NEVER_ANSWER, CLOSE
    }

    private static final int VERSION = 5;
    private static final int NO_AUTH = 0;
    private static final int PASSWORD = 2;
    private static final int NO_ACCEPTABLE_METHOD = 0xFF;

    private final ProxyListener listener = new ProxyListener("socks5-proxy", 50);
    private final String user;
    private final String password;
    private final int refuseWith;
    private final OnGreeting onGreeting;
    private final List<Long> greetings = new CopyOnWriteArrayList<>();
    private final List<Request> requests = new CopyOnWriteArrayList<>();

    /** A proxy that connects every request; with {@code user} not null, only for that user and password. */
    public Socks5Proxy(String user, String password) {
        this(user, password, 0, OnGreeting.SERVE);
    }

    /** A proxy that answers every connect request with {@code reply} (RFC 1928 section 6: 1 to 8). */
    public static Socks5Proxy refusing(int reply) {
        return new Socks5Proxy(null, null, reply, OnGreeting.SERVE);
    }

    /** A proxy that takes the connection, reads the client's greeting and never answers, until it is closed. */
    public static Socks5Proxy silent() {
        return new Socks5Proxy(null, null, 0, OnGreeting.NEVER_ANSWER);
    }

    /** A proxy that takes the connection, reads the client's greeting and closes the connection without a word. */
    public static Socks5Proxy closingOnGreeting() {
        return new Socks5Proxy(null, null, 0, OnGreeting.CLOSE);
    }

    private Socks5Proxy(String user, String password, int refuseWith, OnGreeting onGreeting) {
        this.user = user;
        this.password = password;
        this.refuseWith = refuseWith;
        this.onGreeting = onGreeting;
        listener.start(() -> { }, this::serve);
    }

    public int port() {
        return listener.port();
    }

    /** Every connect request so far, in the order they came (also those refused after the request). */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** When each client's greeting (its list of login methods) had come ({@link System#nanoTime()}), in order. */
    public List<Long> greetingsNanos() {
        return List.copyOf(greetings);
    }

    private void serve(Socket client) throws IOException {
        DataInputStream in = new DataInputStream(client.getInputStream());
        OutputStream out = client.getOutputStream();
        if (in.readUnsignedByte() != VERSION) {
            client.close();
            return;
        }
        byte[] methods = in.readNBytes(in.readUnsignedByte());
        greetings.add(System.nanoTime());
        if (onGreeting == OnGreeting.NEVER_ANSWER) {
            ProxyListener.neverAnswer(client, in);
            return;
        }
        if (onGreeting == OnGreeting.CLOSE) {
            client.close();
            return;
        }
        int method = user == null ? NO_AUTH : PASSWORD;
        if (!contains(methods, method)) {
            out.write(new byte[] {VERSION, (byte) NO_ACCEPTABLE_METHOD});
            out.flush();
            client.close();
            return;
        }
        out.write(new byte[] {VERSION, (byte) method});
        out.flush();
        String loggedIn = null;
        if (method == PASSWORD) {
            in.readUnsignedByte(); // the subnegotiation's version, 1
            String givenUser = new String(in.readNBytes(in.readUnsignedByte()), StandardCharsets.UTF_8);
            String givenPassword = new String(in.readNBytes(in.readUnsignedByte()), StandardCharsets.UTF_8);
            boolean right = user.equals(givenUser) && password.equals(givenPassword);
            out.write(new byte[] {1, (byte) (right ? 0 : 1)});
            out.flush();
            if (!right) {
                client.close();
                return;
            }
            loggedIn = givenUser;
        }
        int[] head = {in.readUnsignedByte(), in.readUnsignedByte(), in.readUnsignedByte(), in.readUnsignedByte()};
        int addressType = head[3];
        InetAddress address = switch (addressType) {
            case 1 -> InetAddress.getByAddress(in.readNBytes(4));
            case 4 -> InetAddress.getByAddress(in.readNBytes(16));
            default -> null;
        };
        String host = addressType == 3 ? new String(in.readNBytes(in.readUnsignedByte()), StandardCharsets.US_ASCII)
                : address == null ? null : address.getHostAddress();
        int port = in.readUnsignedShort();
        requests.add(new Request(addressType, host, port, loggedIn));
        if (head[0] != VERSION || head[1] != 1 || host == null) {
            reply(out, 7);
            client.close();
            return;
        }
        if (refuseWith != 0) {
            reply(out, refuseWith);
            client.close();
            return;
        }
        InetAddress target = addressType == 3 ? InetAddress.getLoopbackAddress() : address;
        if (!target.isLoopbackAddress()) {
            // Never anywhere but this machine.
            reply(out, 2);
            client.close();
            return;
        }
        Socket upstream;
        try {
            upstream = new Socket(target, port);
        } catch (IOException e) {
            reply(out, 5);
            client.close();
            return;
        }
        listener.track(upstream);
        client.setSoTimeout(0);
        reply(out, 0);
        listener.relay(client, in, upstream);
    }

    private static boolean contains(byte[] methods, int method) {
        for (byte m : methods) {
            if ((m & 0xFF) == method) {
                return true;
            }
        }
        return false;
    }

    /** A reply with a bound address of 0.0.0.0:0, which clients do not use for CONNECT. */
    private static void reply(OutputStream out, int code) throws IOException {
        out.write(new byte[] {VERSION, (byte) code, 0, 1, 0, 0, 0, 0, 0, 0});
        out.flush();
    }

    @Override
    public void close() {
        listener.close();
    }
}
