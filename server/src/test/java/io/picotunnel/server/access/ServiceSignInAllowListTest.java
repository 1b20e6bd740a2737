package io.picotunnel.server.access;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Who a service's single sign-on lets in ({@link ServiceSignIn#allowed}), from its lists and allow_all. */
class ServiceSignInAllowListTest {

    @Test
    void emptyListsWithoutAllowAllLetNobodyIn() {
        // The API refuses to store this; should it come about anyway, it must not mean "everyone".
        ServiceAuth.Oidc nobody = new ServiceAuth.Oidc(Set.of(), Set.of(), false);
        assertThat(ServiceSignIn.allowed(nobody, "alice@example.com", List.of("staff"))).isFalse();
    }

    @Test
    void allowAllLetsInEveryVerifiedEmailButNoVisitorWithoutOne() {
        ServiceAuth.Oidc everyone = new ServiceAuth.Oidc(Set.of(), Set.of(), true);
        assertThat(ServiceSignIn.allowed(everyone, "stranger@example.net", List.of())).isTrue();
        assertThat(ServiceSignIn.allowed(everyone, null, List.of("staff"))).isFalse();
    }

    @Test
    void listsLetInTheirEmailsAndGroupsOnly() {
        ServiceAuth.Oidc listed = new ServiceAuth.Oidc(Set.of("Alice@Example.com"), Set.of("staff"), false);
        assertThat(ServiceSignIn.allowed(listed, "ALICE@example.com", List.of())).isTrue();
        assertThat(ServiceSignIn.allowed(listed, "bob@example.com", List.of("staff"))).isTrue();
        assertThat(ServiceSignIn.allowed(listed, "bob@example.com", List.of("Staff", "ops"))).isFalse();
    }

    @Test
    void anEmailBeyondAsciiMatchesInEitherUnicodeForm() {
        String composed = "jos\u00e9@example.com";
        String decomposed = "jose\u0301@example.com";
        ServiceAuth.Oidc listedComposed = new ServiceAuth.Oidc(Set.of(composed), Set.of(), false);
        ServiceAuth.Oidc listedDecomposed = new ServiceAuth.Oidc(Set.of(decomposed), Set.of(), false);

        assertThat(ServiceSignIn.allowed(listedComposed, decomposed, List.of())).isTrue();
        assertThat(ServiceSignIn.allowed(listedDecomposed, composed, List.of())).isTrue();
        assertThat(ServiceSignIn.allowed(listedDecomposed, "JOSE\u0301@Example.com", List.of())).isTrue();
        assertThat(ServiceSignIn.allowed(listedComposed, "JOS\u00c9@example.com", List.of())).isTrue();
        // Composing makes equal only what is the same letter: a plain "e" is another address.
        assertThat(ServiceSignIn.allowed(listedComposed, "jose@example.com", List.of())).isFalse();
        assertThat(listedDecomposed.allowedEmails()).containsExactly(composed);
    }
}
