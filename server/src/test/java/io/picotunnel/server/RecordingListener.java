package io.picotunnel.server;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceConflictException;
import io.picotunnel.server.store.ServiceListener;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/** A service listener for tests: records every change it accepts and refuses those matching {@link #refuse}. */
public final class RecordingListener implements ServiceListener {

    /** A change as told: before or after is null for a creation or deletion. */
    public record Change(Service before, Service after) {
        public boolean isCreate() {
            return before == null;
        }

        public boolean isDelete() {
            return after == null;
        }
    }

    public final List<Change> changes = new CopyOnWriteArrayList<>();
    private volatile Predicate<Change> refusal = change -> false;
    private volatile String reason = "";

    public void refuse(Predicate<Change> which, String why) {
        this.refusal = which;
        this.reason = why;
    }

    @Override
    public void onServiceChange(Service before, Service after) throws ServiceConflictException {
        Change change = new Change(before, after);
        if (refusal.test(change)) {
            throw new ServiceConflictException(reason);
        }
        changes.add(change);
    }
}
