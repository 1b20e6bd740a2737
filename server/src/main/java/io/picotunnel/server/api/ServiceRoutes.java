package io.picotunnel.server.api;

import io.javalin.http.Context;
import io.picotunnel.server.store.LimitReachedException;
import io.picotunnel.server.store.PortPicker;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;

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
        Responses.json(ctx, 200, json.array(store.services(tunnelId), json::service));
    }

    void create(Context ctx) throws ServiceConflictException {
        String tunnelId = ctx.pathParam("id");
        if (store.tunnel(tunnelId).isEmpty()) {
            throw ApiError.notFound("tunnel", tunnelId);
        }
        JsonBody body = JsonBody.read(ctx, writable, readOnly);
        Service draft = input.create(tunnelId, body);
        hooks.checkService(draft, body.object());
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
        Service updated;
        try {
            updated = store.updateService(id, stored -> {
                Service patched = input.patch(stored, body);
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
        ctx.status(204);
    }
}
