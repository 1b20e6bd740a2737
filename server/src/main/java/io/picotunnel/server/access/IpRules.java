package io.picotunnel.server.access;

import java.net.InetAddress;
import java.util.List;

/**
 * A service's {@code ip_allow} and {@code ip_deny}: an address on the deny list is refused; when the allow list
 * is not empty, only its addresses are let in. Both empty: everyone.
 */
public record IpRules(List<Cidr> allow, List<Cidr> deny) {

    public static final IpRules OPEN = new IpRules(List.of(), List.of());

    /** Most entries in one list. */
    public static final int MAX_ENTRIES = 256;

    public IpRules {
        allow = List.copyOf(allow);
        deny = List.copyOf(deny);
    }

    public boolean admits(InetAddress visitor) {
        for (Cidr cidr : deny) {
            if (cidr.contains(visitor)) {
                return false;
            }
        }
        if (allow.isEmpty()) {
            return true;
        }
        for (Cidr cidr : allow) {
            if (cidr.contains(visitor)) {
                return true;
            }
        }
        return false;
    }

    public boolean isOpen() {
        return allow.isEmpty() && deny.isEmpty();
    }
}
