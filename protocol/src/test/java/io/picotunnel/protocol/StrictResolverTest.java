package io.picotunnel.protocol;

import io.picotunnel.testkit.StrictResolverChecks;

/** The protocol's tests resolve through the testkit's resolver alone: localhost and this machine, never DNS. */
class StrictResolverTest extends StrictResolverChecks {
}
