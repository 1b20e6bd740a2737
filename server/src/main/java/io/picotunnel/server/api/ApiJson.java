package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.server.access.AccessPolicy;
import io.picotunnel.server.access.ServiceAuth;
import io.picotunnel.server.store.Rfc3339;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.tls.CertificateStatus;
import io.picotunnel.server.tunnel.ConnectedClient;
import io.picotunnel.server.tunnel.TunnelPresence;

import java.util.Collection;
import java.util.List;
import java.util.function.Function;

/**
 * The JSON the API answers with, in one place: tunnels, services and errors. Field names are snake_case; fields
 * that do not apply (a tcp service's domain, an http service's listen address) are null.
 */
public final class ApiJson {

    private final TunnelPresence presence;
    private final Function<Service, CertificateStatus> certificates;
    private final Function<Service, ServiceActivity> activity;
    private final ApiHooks hooks;

    public ApiJson(TunnelPresence presence) {
        this(presence, service -> CertificateStatus.NOT_APPLICABLE);
    }

    /** {@code certificates} gives each service's {@code cert_status}, {@code cert_expires_at} and {@code cert_error}. */
    public ApiJson(TunnelPresence presence, Function<Service, CertificateStatus> certificates) {
        this(presence, certificates, service -> service.enabled() ? ServiceActivity.ACTIVE : ServiceActivity.DISABLED,
                ApiHooks.NONE);
    }

    /** As above; {@code activity} gives each service's {@code active} and {@code error}. */
    public ApiJson(TunnelPresence presence, Function<Service, CertificateStatus> certificates,
                   Function<Service, ServiceActivity> activity) {
        this(presence, certificates, activity, ApiHooks.NONE);
    }

    /** As above; {@code hooks} add fields of other features (monitoring) to tunnels and services. */
    public ApiJson(TunnelPresence presence, Function<Service, CertificateStatus> certificates,
                   Function<Service, ServiceActivity> activity, ApiHooks hooks) {
        this.presence = presence;
        this.certificates = certificates;
        this.activity = activity;
        this.hooks = hooks;
    }

    public ObjectNode tunnel(Tunnel tunnel) {
        ObjectNode json = JsonBody.MAPPER.createObjectNode();
        json.put("id", tunnel.id());
        json.put("name", tunnel.name());
        json.put("token", tunnel.token()); // only in the answer to create and regenerate: null otherwise
        json.put("created_at", Rfc3339.format(tunnel.createdAt()));
        json.put("updated_at", Rfc3339.format(tunnel.updatedAt()));
        json.put("connected", presence.isConnected(tunnel.id()));
        json.put("connected_since", presence.connectedSince(tunnel.id()).map(Rfc3339::format).orElse(null));
        json.put("last_seen_at", presence.lastSeen(tunnel.id()).map(Rfc3339::format).orElse(null));
        json.set("clients", array(presence.clients(tunnel.id()), ApiJson::client));
        hooks.tunnelJson(tunnel, json);
        return json;
    }

    /** One connected client of a tunnel: {@code version} and {@code hostname} are null when it did not say. */
    static ObjectNode client(ConnectedClient client) {
        ObjectNode json = JsonBody.MAPPER.createObjectNode();
        json.put("id", client.id());
        json.put("remote_addr", client.remoteAddr());
        json.put("version", client.version());
        json.put("hostname", client.hostname());
        json.put("connected_since", Rfc3339.format(client.connectedSince()));
        return json;
    }

    public ObjectNode service(Service service) {
        ObjectNode json = ownFields(service);
        hooks.serviceJson(service, json);
        return json;
    }

    /** The objects of {@code services}, in their order; the fields of other features are looked up for all at once. */
    public ArrayNode services(List<Service> services) {
        List<ObjectNode> jsons = services.stream().map(this::ownFields).toList();
        hooks.servicesJson(services, jsons);
        ArrayNode array = JsonBody.MAPPER.createArrayNode();
        jsons.forEach(array::add);
        return array;
    }

    /** A service's object without the fields of {@link ApiHooks}. */
    private ObjectNode ownFields(Service service) {
        boolean http = service.type() == ServiceType.HTTP;
        ObjectNode json = JsonBody.MAPPER.createObjectNode();
        json.put("id", service.id());
        json.put("tunnel_id", service.tunnelId());
        json.put("type", service.type().json());
        json.put("domain", http ? service.domain() : null);
        json.put("path_prefix", http ? service.pathPrefix() : null);
        json.put("tls_mode", http ? service.tlsMode().json() : null);
        if (http) {
            json.put("https_redirect", service.httpsRedirect());
        } else {
            json.putNull("https_redirect");
        }
        json.put("listen_addr", http ? null : service.listenAddr());
        json.put("target_addr", service.targetAddr());
        json.put("enabled", service.enabled());
        ServiceActivity now = service.enabled() ? activity.apply(service) : ServiceActivity.DISABLED;
        json.put("active", now.active());
        json.put("error", now.error());
        json.put("created_at", Rfc3339.format(service.createdAt()));
        access(json, service.access());
        CertificateStatus certificate = certificates.apply(service);
        json.put("cert_status", certificate.status());
        json.put("cert_expires_at", certificate.expiresAt() == null ? null : Rfc3339.format(certificate.expiresAt()));
        json.put("cert_error", certificate.error());
        return json;
    }

    public <T> ArrayNode array(Collection<T> items, Function<T, ObjectNode> mapper) {
        ArrayNode array = JsonBody.MAPPER.createArrayNode();
        items.forEach(item -> array.add(mapper.apply(item)));
        return array;
    }

    public static ObjectNode error(ApiError error) {
        ObjectNode json = JsonBody.MAPPER.createObjectNode();
        json.put("error", error.error());
        json.put("message", error.getMessage());
        if (error.field() != null) {
            json.put("field", error.field());
        }
        return json;
    }

    /** {@code auth} (never with the password or its hash), {@code ip_allow}, {@code ip_deny}, {@code rate_limit}. */
    private static void access(ObjectNode json, AccessPolicy access) {
        ObjectNode auth = json.putObject("auth");
        auth.put("type", access.auth().type());
        switch (access.auth()) {
            case ServiceAuth.Basic basic -> auth.put("username", basic.username());
            case ServiceAuth.Oidc oidc -> {
                ArrayNode emails = auth.putArray("allowed_emails");
                oidc.allowedEmails().stream().sorted().forEach(emails::add);
                ArrayNode groups = auth.putArray("allowed_groups");
                oidc.allowedGroups().stream().sorted().forEach(groups::add);
                auth.put("allow_all", oidc.allowAll());
            }
            case ServiceAuth.None none -> {
            }
        }
        ArrayNode allow = json.putArray("ip_allow");
        access.ipRules().allow().forEach(cidr -> allow.add(cidr.toString()));
        ArrayNode deny = json.putArray("ip_deny");
        access.ipRules().deny().forEach(cidr -> deny.add(cidr.toString()));
        if (access.rateLimit() == null) {
            json.putNull("rate_limit");
        } else {
            ObjectNode rate = json.putObject("rate_limit");
            double perSecond = access.rateLimit().perSecond();
            if (perSecond == Math.rint(perSecond)) {
                rate.put("per_second", (long) perSecond);
            } else {
                rate.put("per_second", perSecond);
            }
            rate.put("burst", access.rateLimit().burst());
        }
    }
}
