package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.options.AriaRole;

/** The sign-in page's admin token form, filled in as a user does. */
final class AdminSignIn {

    private AdminSignIn() {
    }

    /** Opens {@code url} in a new context of {@code browser} and signs in with {@code token}; the page. */
    static Page open(Browser browser, String url, String token) {
        Page page = browser.newContext().newPage();
        page.navigate(url);
        page.getByLabel("Admin token").fill(token);
        page.getByRole(AriaRole.BUTTON, new Page.GetByRoleOptions().setName("Sign in").setExact(true)).click();
        return page;
    }
}
