package io.picotunnel.server.store;

/**
 * Told of every change to a service, so that listeners, routes and certificates follow the store.
 * At start-up the server calls it with {@code before == null} for every stored service.
 */
public interface ServiceListener {

    /**
     * A service is created ({@code before == null}), updated, or deleted ({@code after == null}; deleting a
     * tunnel deletes its services one by one through here), and applied at once. Throwing
     * {@link ServiceConflictException} refuses the change; a listener that throws must leave its own state as it was.
     */
    void onServiceChange(Service before, Service after) throws ServiceConflictException;

    /**
     * The store tells a change through here, inside the transaction that makes it, before the API answers. Throwing
     * {@link ServiceConflictException} undoes the change in the store and the API answers 409 with its message; a
     * listener that throws must leave its own state as it was. Otherwise the returned {@link Staged} is told whether
     * the change was stored. By default the change is applied at once ({@link #onServiceChange}) and undone by telling
     * the reverse change; a listener that holds what cannot be taken back (a port let go, connections cut) does only
     * what may fail here and the rest once the change is stored.
     */
    default Staged stage(Service before, Service after) throws ServiceConflictException {
        onServiceChange(before, after);
        return new Staged() {
            @Override
            public void stored() {
            }

            @Override
            public void undo() throws ServiceConflictException {
                onServiceChange(after, before);
            }
        };
    }

    /** A change told inside its transaction, waiting to hear whether it was stored. Told once: one or the other. */
    interface Staged {

        /** A change that was nothing to the listener. */
        Staged NOTHING = new Staged() {
            @Override
            public void stored() {
            }

            @Override
            public void undo() {
            }
        };

        /** A change nothing refuses, applied by {@code apply} once it is stored; before that, nothing to undo. */
        static Staged onceStored(Runnable apply) {
            return new Staged() {
                @Override
                public void stored() {
                    apply.run();
                }

                @Override
                public void undo() {
                }
            };
        }

        /** The change is committed (told before the next change can be made). */
        void stored();

        /** The change is not stored (a listener refused it, or the commit failed): what was done for it is undone. */
        void undo() throws ServiceConflictException;
    }
}
