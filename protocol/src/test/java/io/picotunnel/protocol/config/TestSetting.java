package io.picotunnel.protocol.config;

/** Settings declared as the server's and client's are, for the tests of the machinery that reads them. */
enum TestSetting implements DeclaredSetting {
    SECURE("--secure", "BOOL", "false", "On or off."),
    NAME("--name", "NAME", "x", "A name."),
    THREADS("--threads", "N", "0", "How many."),
    WAIT("--wait", "DURATION", "1s", "How long."),
    TOKEN("--token", "TOKEN", null, "The secret.");

    private final Declaration declaration;

    TestSetting(String flag, String paramLabel, String defaultValue, String description) {
        this.declaration = new Declaration(flag, paramLabel, defaultValue, description);
    }

    @Override
    public Declaration declaration() {
        return declaration;
    }
}
