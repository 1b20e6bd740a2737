package io.picotunnel.server.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.JavalinConfig;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.Tunnel;

import java.util.List;
import java.util.Set;

/**
 * What other features add to the API (monitoring: routes, fields of the tunnel and service objects, service
 * settings of their own). Every method does nothing by default.
 */
public interface ApiHooks {

    ApiHooks NONE = new ApiHooks() {
    };

    /** Adds routes (under {@code /api}, behind the same authentication, or in {@link #guardedPaths()}). */
    default void routes(JavalinConfig config) {
    }

    /** Paths of {@link #routes} outside {@code /api} that need the same authentication as the API. */
    default List<String> guardedPaths() {
        return List.of();
    }

    /** Paths of {@link #routes} under {@code /api} that anyone may GET without signing in (the public status). */
    default List<String> publicPaths() {
        return List.of();
    }

    /** Further fields a tunnel create or update may carry. */
    default Set<String> tunnelFields() {
        return Set.of();
    }

    /** Checks the fields of {@link #tunnelFields()} in {@code body} before the tunnel is saved; throws {@link ApiError}. */
    default void checkTunnel(ObjectNode body) {
    }

    /** The tunnel was created or updated from {@code body}: store the fields of {@link #tunnelFields()}. */
    default void tunnelSaved(Tunnel saved, ObjectNode body) {
    }

    /** The tunnel was deleted (stored so), and its services with it. */
    default void tunnelDeleted(String tunnelId) {
    }

    /** The service was deleted (stored so). */
    default void serviceDeleted(String serviceId) {
    }

    /** Adds fields to a tunnel object. */
    default void tunnelJson(Tunnel tunnel, ObjectNode json) {
    }

    /** Adds fields to a service object. */
    default void serviceJson(Service service, ObjectNode json) {
    }

    /**
     * Adds fields to the objects of a list of services, {@code jsons.get(i)} being that of {@code services.get(i)}: what
     * is stored of them can be read at once rather than once per service. By default {@link #serviceJson} for each.
     */
    default void servicesJson(List<Service> services, List<ObjectNode> jsons) {
        for (int i = 0; i < services.size(); i++) {
            serviceJson(services.get(i), jsons.get(i));
        }
    }

    /** Further fields a service create or update may carry. */
    default Set<String> serviceFields() {
        return Set.of();
    }

    /** Fields added to tunnel and service objects that a client may send back (they are ignored). */
    default Set<String> readOnlyFields() {
        return Set.of();
    }

    /** Checks the fields of {@link #serviceFields()} in {@code body} before the service is saved; throws {@link ApiError}. */
    default void checkService(Service draft, ObjectNode body) {
    }

    /** The service was saved from {@code body}: store the fields of {@link #serviceFields()}. */
    default void serviceSaved(Service saved, ObjectNode body) {
    }

    /** The tunnel's token was regenerated through the API. */
    default void tokenRegenerated(Tunnel tunnel) {
    }
}
