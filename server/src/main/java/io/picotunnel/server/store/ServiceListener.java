package io.picotunnel.server.store;

/**
 * Told of every change to a service, so that listeners, routes and certificates follow the store.
 * At start-up the server calls it with {@code before == null} for every stored service.
 */
public interface ServiceListener {

    /**
     * A service is created ({@code before == null}), updated, or deleted ({@code after == null}; deleting a
     * tunnel deletes its services one by one through here). Called before the API answers. Throwing
     * {@link ServiceConflictException} undoes the change in the store and the API answers 409 with its
     * message; a listener that throws must leave its own state as it was.
     */
    void onServiceChange(Service before, Service after) throws ServiceConflictException;
}
