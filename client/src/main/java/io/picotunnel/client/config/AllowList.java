package io.picotunnel.client.config;

import io.picotunnel.protocol.text.ControlCharacters;

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

    /**
     * Parses {@code host:port,host:port}; blank means any target. Text that names no target (only commas and
     * spaces, as an allow list built from empty variables would be) is an error, not "any target": a list meant
     * to restrict must never open everything.
     */
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
        if (targets.isEmpty()) {
            throw new IllegalArgumentException(ControlCharacters.quoted(text) + " names no host:port (leave it empty to allow any target)");
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
