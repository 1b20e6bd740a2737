package io.picotunnel.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;

/**
 * The one place a token is ever shown (never logged): once, when the server generated it, on standard output. With
 * {@code PICOTUNNEL_LOG_FORMAT=json} it is one JSON object on one line with the fields of the JSON log lines, so that a
 * log shipper reading the same output still gets one object per line.
 */
final class AdminTokenBanner {

    private static final ObjectMapper JSON = new ObjectMapper();

    private AdminTokenBanner() {
    }

    /** Prints the banner for {@code token}, stored in {@code file}, as text or as one JSON line. */
    static void show(PrintStream console, String token, Path file, boolean json, Clock clock) {
        if (json) {
            ObjectNode line = JSON.createObjectNode();
            line.put("timestamp", clock.millis());
            line.put("level", "INFO");
            line.put("threadName", Thread.currentThread().getName());
            line.put("loggerName", PicoTunnelServer.class.getName());
            line.put("formattedMessage", "Generated an admin token (stored in " + file + ", shown only this once): "
                    + token + " Use it as 'Authorization: Bearer <token>' for the API.");
            console.println(line);
        } else {
            console.println("Generated an admin token (stored in " + file + ", shown only this once):");
            console.println();
            console.println("    " + token);
            console.println();
            console.println("Use it as 'Authorization: Bearer <token>' for the API.");
        }
        console.flush();
    }
}
