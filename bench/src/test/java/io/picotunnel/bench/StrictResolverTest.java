package io.picotunnel.bench;

import io.picotunnel.testkit.StrictResolverChecks;

/** The bench's tests resolve through the testkit's resolver alone: localhost and this machine, never DNS. */
class StrictResolverTest extends StrictResolverChecks {
}
