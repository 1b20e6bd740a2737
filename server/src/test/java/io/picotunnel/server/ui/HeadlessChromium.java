package io.picotunnel.server.ui;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Playwright;
import com.microsoft.playwright.assertions.PlaywrightAssertions;

import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Debian's Chromium, headless, driven by Playwright (which downloads no browser of its own): what every browser
 * test launches. Closing it closes the browser and Playwright.
 */
final class HeadlessChromium implements AutoCloseable {

    private static final String EXECUTABLE = "/usr/bin/chromium";

    private final Playwright playwright;
    private final Browser browser;

    private HeadlessChromium(Playwright playwright, Browser browser) {
        this.playwright = playwright;
        this.browser = browser;
    }

    /**
     * What every name but these resolves to: nothing. Chromium, even with background networking off, looked up
     * accounts.google.com, update.googleapis.com, content-autofill.googleapis.com and more through the system's DNS
     * server; a test talks to loopback only.
     */
    private static final String NO_OTHER_NAMES = "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1";

    /** Launches Chromium with the flags a container needs; it resolves {@code localhost} only. */
    static HeadlessChromium launch() {
        return launchResolving("");
    }

    /**
     * As {@link #launch()}, with Chromium's host resolver rules {@code mappings} ({@code MAP *.test 127.0.0.1}, say)
     * taken before the rule that no other name resolves.
     */
    static HeadlessChromium launchResolving(String mappings) {
        List<String> args = new ArrayList<>(List.of("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update",
                "--host-resolver-rules=" + (mappings.isEmpty() ? "" : mappings + ", ") + NO_OTHER_NAMES));
        Playwright playwright = Playwright.create(new Playwright.CreateOptions()
                .setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
        try {
            Browser browser = playwright.chromium().launch(new BrowserType.LaunchOptions()
                    .setExecutablePath(Paths.get(EXECUTABLE)).setHeadless(true).setArgs(args));
            PlaywrightAssertions.setDefaultAssertionTimeout(20_000);
            return new HeadlessChromium(playwright, browser);
        } catch (RuntimeException e) {
            playwright.close();
            throw e;
        }
    }

    Browser browser() {
        return browser;
    }

    @Override
    public void close() {
        try {
            browser.close();
        } finally {
            playwright.close();
        }
    }
}
