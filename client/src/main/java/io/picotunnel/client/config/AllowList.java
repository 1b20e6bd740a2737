package io.picotunnel.client.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/** The targets the server may ask this client to dial ({@code --allow}); empty means any target. */
public record AllowList(Set<HostPort> targets) {

    public static final AllowList ANY = new AllowList(Set.of());

    public AllowList {
        targets = Set.copyOf(targets);
    }

    /** Parses {@code host:port,host:port}; blank means any target. */
    public static AllowList parse(String text) {
        if (text == null || text.isBlank()) {
            return ANY;
        }
        List<HostPort> targets = new ArrayList<>();
        for (String part : text.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            targets.add(HostPort.parse(part));
        }
        return new AllowList(Set.copyOf(targets));
    }

    public boolean permits(HostPort target) {
        return targets.isEmpty() || targets.contains(target);
    }

    public boolean isRestricted() {
        return !targets.isEmpty();
    }

    @Override
    public String toString() {
        return targets.isEmpty() ? "any" : targets.stream().map(HostPort::toString).sorted().collect(Collectors.joining(","));
    }
}
