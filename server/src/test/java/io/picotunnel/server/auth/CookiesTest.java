package io.picotunnel.server.auth;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CookiesTest {

    @Test
    void overHttpsTheCookieIsHostOnlyAndSecure() {
        String name = Cookies.named("picotunnel_session", true);

        assertThat(Cookies.header(name, "abc", 3600, true)).isEqualTo(
                "__Host-picotunnel_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure");
    }

    @Test
    void overPlainHttpTheCookieHasNeitherPrefixNorSecure() {
        String name = Cookies.named("picotunnel_session", false);

        assertThat(Cookies.header(name, "abc", 3600, false)).isEqualTo(
                "picotunnel_session=abc; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax");
    }

    @Test
    void clearingSetsAnEmptyValueWithMaxAgeZeroAndTheSameAttributes() {
        assertThat(Cookies.header("__Host-picotunnel_session", "", 0, true)).isEqualTo(
                "__Host-picotunnel_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
        assertThat(Cookies.header("picotunnel_session", "", 0, false)).isEqualTo(
                "picotunnel_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    }

    @Test
    void aHostOnlyNameIsSecureOnPlainHttpTooAsBrowsersTakeItOnlySo() {
        assertThat(Cookies.header("__Host-picotunnel_access_web", "", 0, false)).isEqualTo(
                "__Host-picotunnel_access_web=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    }

    @Test
    void aNameWithoutThePrefixIsStillSecureOverHttps() {
        assertThat(Cookies.header("picotunnel_access_web", "", 0, true)).isEqualTo(
                "picotunnel_access_web=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure");
    }
}
