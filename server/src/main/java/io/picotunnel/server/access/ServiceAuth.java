package io.picotunnel.server.access;

import java.util.Set;
import java.util.stream.Collectors;

/** Who may use an http service: anyone, holders of one user name and password, or people signed in through OIDC. */
public sealed interface ServiceAuth {

    None NONE = new None();

    /** The JSON {@code type}. */
    String type();

    /** No sign-in. */
    record None() implements ServiceAuth {
        @Override
        public String type() {
            return "none";
        }
    }

    /** HTTP Basic authentication; only a bcrypt hash of the password is kept ({@link PasswordHash}). */
    record Basic(String username, String passwordHash) implements ServiceAuth {
        @Override
        public String type() {
            return "basic";
        }

        @Override
        public String toString() {
            return "Basic[username=" + username + "]";
        }
    }

    /**
     * Sign-in through the server's OIDC provider. A visitor enters with a verified email on {@code allowedEmails}
     * or a group on {@code allowedGroups} (emails compared in lower case and composed: {@link UnicodeNames#comparableEmail}). Both empty let in nobody, unless {@code allowAll} (the API's
     * {@code allow_all}, said explicitly, as {@code --oidc-allow-all} is for the UI) lets in everyone the provider
     * signs in with a verified email: with a public provider, anyone who has an account there.
     */
    record Oidc(Set<String> allowedEmails, Set<String> allowedGroups, boolean allowAll) implements ServiceAuth {
        public Oidc {
            allowedEmails = allowedEmails.stream().map(e -> UnicodeNames.comparableEmail(e.strip()))
                    .collect(Collectors.toUnmodifiableSet());
            allowedGroups = Set.copyOf(allowedGroups);
        }

        @Override
        public String type() {
            return "oidc";
        }
    }
}
