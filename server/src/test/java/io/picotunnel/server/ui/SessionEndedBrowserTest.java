package io.picotunnel.server.ui;

import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Statement;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;

/**
 * The UI open in Chromium while its session ends on the server (expired, or signed out in another tab): its next
 * poll of the API gets 401, and the page goes back to the sign-in page, saying why, instead of a broken page.
 */
class SessionEndedBrowserTest {

    private static final String ALICE = "alice@example.com";
    /** What App.tsx's SESSION_ENDED says. */
    private static final String SESSION_ENDED = "Your session has ended: it expired, or it was signed out elsewhere."
            + " Sign in again to go on where you were.";

    @TempDir
    Path dataDir;
    private SingleSignOnServer sso;
    private HeadlessChromium chromium;

    @BeforeEach
    void start() {
        sso = SingleSignOnServer.start(dataDir, ALICE);
        chromium = HeadlessChromium.launch();
    }

    @AfterEach
    void stop() {
        if (chromium != null) {
            chromium.close();
        }
        if (sso != null) {
            sso.close();
        }
    }

    @Test
    void anExpiredSessionTakesTheOpenUiBackToTheSignInPageSayingWhy() throws Exception {
        BrowserContext context = chromium.browser().newContext();
        context.setDefaultTimeout(20_000);
        Page page = context.newPage();
        page.navigate(sso.baseUrl() + "/");
        page.getByRole(AriaRole.LINK, new Page.GetByRoleOptions().setName("Continue with single sign-on")).click();
        sso.signInAtProvider(page, "alice", SingleSignOnServer.verifiedEmail(ALICE));
        page.waitForURL(sso.baseUrl() + "/");
        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("Create your first tunnel"))).isVisible();

        // the session expires on the server; the browser still sends its cookie
        sso.server().store().database().inTransaction(c -> {
            try (Statement expire = c.createStatement()) {
                return expire.executeUpdate("UPDATE sessions SET expires_at = 0");
            }
        });

        assertThat(page.getByRole(AriaRole.HEADING, new Page.GetByRoleOptions().setName("Sign in to PicoTunnel"))).isVisible();
        assertThat(page.getByRole(AriaRole.ALERT)).hasText(SESSION_ENDED);
        assertThat(page.getByRole(AriaRole.LINK, new Page.GetByRoleOptions().setName("Continue with single sign-on")))
                .isVisible();
        assertThat(page.getByText(ALICE)).hasCount(0);
    }
}
