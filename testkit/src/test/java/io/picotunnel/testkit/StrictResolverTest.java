package io.picotunnel.testkit;

/** The testkit's own tests resolve through {@link TestNamesResolverProvider} alone. */
class StrictResolverTest extends StrictResolverChecks {
}
