package io.picotunnel.protocol.idna;

import io.picotunnel.protocol.text.AsciiNumbers;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The host of a URL written with %-escapes ({@code b%C3%BCcher.example}) as it is read: decoded as UTF-8
 * ({@code bücher.example}), as browsers (the WHATWG URL standard) and Go's url.Parse read a host.
 * {@link java.net.URI} takes no escape in a host, and a name beyond ASCII is converted only once decoded.
 */
public final class HostEscapes {

    private HostEscapes() {
    }

    /** {@code host} decoded; throws with a sentence fragment ("has ...") for a user when it cannot be. */
    public static String decoded(String host) {
        if (host.indexOf('%') < 0) {
            return host;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c != '%') {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
                continue;
            }
            int high = i + 2 < host.length() ? AsciiNumbers.hexDigit(host.charAt(i + 1)) : -1;
            int low = high < 0 ? -1 : AsciiNumbers.hexDigit(host.charAt(i + 2));
            if (low < 0) {
                throw new IllegalArgumentException("has a '%' not followed by two hex digits, as in a %-escape such as"
                        + " %C3%BC (ü)");
            }
            bytes.write(high * 16 + low);
            i += 2;
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("has %-escapes that are not UTF-8 (%FC for ü is Latin-1: in UTF-8 ü is"
                    + " %C3%BC); write the host as it is read", e);
        }
    }
}
