package io.picotunnel.server.config;

import java.util.List;
import java.util.Locale;

/**
 * E-mail addresses that are placeholders, not anyone's mailbox: those at the example domains and the special-use
 * top-level domains (RFC 2606, RFC 6761), and at a name with no top-level domain at all. Let's Encrypt refuses an
 * ACME account with such a contact, so a server started with one would fail every order.
 */
public final class ExampleEmail {

    private static final List<String> EXAMPLE_DOMAINS = List.of("example.com", "example.net", "example.org");
    private static final List<String> SPECIAL_USE_TLDS = List.of("example", "invalid", "localhost", "test");

    private ExampleEmail() {
    }

    /** The domain of {@code email} if it is such a placeholder, otherwise {@code null}. */
    public static String placeholderDomain(String email) {
        String domain = email.substring(email.lastIndexOf('@') + 1).toLowerCase(Locale.ROOT);
        while (domain.endsWith(".")) {
            domain = domain.substring(0, domain.length() - 1);
        }
        int lastDot = domain.lastIndexOf('.');
        if (lastDot < 0 || SPECIAL_USE_TLDS.contains(domain.substring(lastDot + 1))) {
            return domain;
        }
        for (String example : EXAMPLE_DOMAINS) {
            if (domain.equals(example) || domain.endsWith("." + example)) {
                return domain;
            }
        }
        return null;
    }
}
