package io.picotunnel.server.api;

import io.javalin.http.Context;
import io.picotunnel.server.net.HostPort;
import io.picotunnel.server.store.LimitReachedException;
import io.picotunnel.server.store.PortPicker;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.Set;

/** {@code /api/tunnels/{id}/services} and {@code /api/services/{id}}. */
final class ServiceRoutes {

    private final Store store;
    private final ServiceInput input;
    private final PortPicker ports;
    private final ApiJson json;
    private final int maxServices;
    private final ApiHooks hooks;
    private final Set<String> writable;
    private final Set<String> readOnly;

    ServiceRoutes(Store store, ServiceInput input, PortPicker ports, ApiJson json, int maxServices, ApiHooks hooks) {
        this.store = store;
        this.input = input;
        this.ports = ports;
        this.json = json;
        this.maxServices = maxServices;
        this.hooks = hooks;
        Set<String> fields = new HashSet<>(ServiceInput.WRITABLE);
        fields.addAll(hooks.serviceFields());
        this.writable = Set.copyOf(fields);
        Set<String> ignored = new HashSet<>(ServiceInput.READ_ONLY);
        ignored.addAll(hooks.readOnlyFields());
        this.readOnly = Set.copyOf(ignored);
    }

    void list(Context ctx) {
        String tunnelId = ctx.pathParam("id");
        if (store.tunnel(tunnelId).isEmpty()) {
            throw ApiError.notFound("tunnel", tunnelId);
        }
        Responses.json(ctx, 200, json.services(store.services(tunnelId)));
    }

    /** {@code GET /api/services}: every tunnel's, in the order they were created (the dashboard's one request). */
    void listAll(Context ctx) {
        Responses.json(ctx, 200, json.services(store.services()));
    }

    void create(Context ctx) throws ServiceConflictException {
        String tunnelId = ctx.pathParam("id");
        if (store.tunnel(tunnelId).isEmpty()) {
            throw ApiError.notFound("tunnel", tunnelId);
        }
        JsonBody body = JsonBody.read(ctx, writable, readOnly);
        Service draft = input.create(tunnelId, body);
        hooks.checkService(draft, body.object());
        lookUpListenHost(draft);
        Service created;
        try {
            created = store.createService(draft, maxServices, ports).orElseThrow(() -> ApiError.notFound("tunnel", tunnelId));
        } catch (LimitReachedException e) {
            throw ApiError.limitReached("This server holds " + maxServices + " services, its most"
                    + " (PICOTUNNEL_MAX_SERVICES). Delete a service you no longer need, or have the operator raise the limit.");
        } catch (ServiceConflictException e) {
            throw conflict(draft, e);
        }
        hooks.serviceSaved(created, body.object());
        Responses.json(ctx, 201, json.service(created));
    }

    void update(Context ctx) {
        String id = ctx.pathParam("id");
        JsonBody body = JsonBody.read(ctx, writable, readOnly);
        // Read first against the service as it is now, outside the store's write lock: that reading hashes a password
        // and looks up a host name, which the one in the transaction then finds done. Its refusals are the same.
        PasswordHashes hashes = new PasswordHashes();
        Service now = store.service(id).orElseThrow(() -> ApiError.notFound("service", id));
        lookUpListenHost(input.patch(now, body, hashes));
        Service updated;
        try {
            updated = store.updateService(id, stored -> {
                Service patched = input.patch(stored, body, hashes);
                hooks.checkService(patched, body.object());
                return patched;
            }, ports)
                    .orElseThrow(() -> ApiError.notFound("service", id));
        } catch (ServiceConflictException e) {
            throw conflict(store.service(id).orElse(null), e);
        }
        hooks.serviceSaved(updated, body.object());
        Responses.json(ctx, 200, json.service(updated));
    }

    /**
     * Looks up the host name of a tcp service's listen address before the store's write lock is taken. Binding the
     * address, in the transaction that stores the service, resolves the name again and finds the answer in the JDK's
     * cache (kept 30 s, a failure 10 s): a slow DNS server then holds up this request only, not every other change
     * waiting for the lock. A name that does not resolve is refused by the binding, as before.
     */
    private static void lookUpListenHost(Service service) {
        if (service.type() != ServiceType.TCP) {
            return;
        }
        String host = HostPort.parse(service.listenAddr(), HostPort.Rules.SERVICE_REQUEST).host();
        if (host.isEmpty()) {
            return;
        }
        try {
            InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            // Refused where it is bound, with the words of every such refusal.
        }
    }

    /** A conflict names the field a form would show it next to: the listen address or the domain. */
    private static ApiError conflict(Service service, ServiceConflictException e) {
        String field = service == null ? null : service.type() == ServiceType.TCP ? "listen_addr" : "domain";
        return ApiError.conflict(e.getMessage(), field);
    }

    void delete(Context ctx) throws ServiceConflictException {
        String id = ctx.pathParam("id");
        if (!store.deleteService(id)) {
            throw ApiError.notFound("service", id);
        }
        hooks.serviceDeleted(id);
        ctx.status(204);
    }
}
