package io.picotunnel.server.store;

import io.picotunnel.server.auth.Secrets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

import static io.picotunnel.server.store.ServiceRows.SELECT_SERVICE;

/**
 * Tunnels and services in SQLite ({@code <data>/picotunnel.db}). Every service change is told to the
 * {@link ServiceListener}s inside the transaction that makes it ({@link ServiceListener#stage}): if one of them
 * refuses, or the commit fails, the ones already told undo it and the transaction is rolled back, so nothing is
 * half-created; once it is committed, they are told it is stored.
 */
public final class Store implements AutoCloseable {

    public static final String DATABASE_FILE = "picotunnel.db";

    private static final Logger log = LoggerFactory.getLogger(Store.class);
    private static final String SELECT_TUNNEL = "SELECT id, name, created_at, updated_at FROM tunnels";

    /**
     * Lists are in the order their items were stored (rowid: SQLite gives each new row one above the largest there
     * is), not by created_at: that is the wall clock's, and a clock stepped back (NTP, a VM resumed) would put a newer
     * item before an older one.
     */
    private static final String IN_ORDER_STORED = " ORDER BY rowid";

    /** How many ports a tcp service asking for any is given, each found taken by another program, before a 409. */
    public static final int PORT_PICKS = 3;

    private final Database database;
    private final Clock clock;
    private final List<ServiceListener> listeners = new CopyOnWriteArrayList<>();

    private Store(Database database, Clock clock) {
        this.database = database;
        this.clock = clock;
    }

    /** Opens and migrates {@code <dataDir>/picotunnel.db}. */
    public static Store open(Path dataDir) {
        return open(dataDir, Clock.systemUTC());
    }

    /** As {@link #open(Path)}, with {@code clock} for created_at and updated_at. */
    public static Store open(Path dataDir, Clock clock) {
        return new Store(Database.open(dataDir.resolve(DATABASE_FILE)), clock);
    }

    /** Now, at the precision that is stored. */
    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    /** For tables of other components (sessions, certificates). */
    public Database database() {
        return database;
    }

    /** Adds a listener told of every later service change (the server replays the stored services to it). */
    public void addServiceListener(ServiceListener listener) {
        listeners.add(listener);
    }

    // ---- tunnels

    public List<Tunnel> tunnels() {
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(SELECT_TUNNEL + IN_ORDER_STORED)) {
                return tunnelRows(select);
            }
        });
    }

    public Optional<Tunnel> tunnel(String id) {
        return database.read(connection -> findTunnel(connection, id));
    }

    /**
     * The tunnel whose token is {@code token}: only the token's SHA-256 is stored, so this is an index lookup by
     * the hash of what was presented (the token itself is never kept, nor compared).
     */
    public Optional<Tunnel> findTunnelByToken(String token) {
        if (token == null || token.isEmpty()) {
            return Optional.empty();
        }
        String hash = Secrets.sha256Hex(token);
        return database.read(connection -> {
            try (PreparedStatement select = connection.prepareStatement(SELECT_TUNNEL + " WHERE token_sha256 = ?")) {
                select.setString(1, hash);
                return tunnelRows(select).stream().findFirst();
            }
        });
    }

    /** A new tunnel with a new token; the returned tunnel is the only one that carries the token in plain. */
    public Tunnel createTunnel(String name) {
        return createTunnel(name, Integer.MAX_VALUE);
    }

    /**
     * As {@link #createTunnel(String)}, unless there are {@code most} tunnels already ({@link LimitReachedException}):
     * counted in the transaction that inserts, so creations at once cannot pass the limit and wait for nothing but
     * the database.
     */
    public Tunnel createTunnel(String name, int most) {
        Instant now = now();
        Tunnel tunnel = new Tunnel(Secrets.newId(), name, Secrets.newToken(), now, now);
        return database.inTransaction(connection -> {
            refuseAtLimit(connection, "tunnels", most);
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO tunnels (id, name, token_sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?)")) {
                insert.setString(1, tunnel.id());
                insert.setString(2, tunnel.name());
                insert.setString(3, Secrets.sha256Hex(tunnel.token()));
                insert.setString(4, Rfc3339.format(now));
                insert.setString(5, Rfc3339.format(now));
                insert.executeUpdate();
            }
            return tunnel;
        });
    }

    public Optional<Tunnel> renameTunnel(String id, String name) {
        return database.inTransaction(connection -> {
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE tunnels SET name = ?, updated_at = ? WHERE id = ?")) {
                update.setString(1, name);
                update.setString(2, Rfc3339.format(now()));
                update.setString(3, id);
                update.executeUpdate();
            }
            return findTunnel(connection, id);
        });
    }

    /** Marks the tunnel changed now (a setting stored beside it, such as its public status, changed). */
    public Optional<Tunnel> touchTunnel(String id) {
        return database.inTransaction(connection -> {
            try (PreparedStatement update = connection.prepareStatement("UPDATE tunnels SET updated_at = ? WHERE id = ?")) {
                update.setString(1, Rfc3339.format(now()));
                update.setString(2, id);
                update.executeUpdate();
            }
            return findTunnel(connection, id);
        });
    }

    /**
     * Gives the tunnel a new token; the old one stops working at once. The returned tunnel carries the new token,
     * the only time it is available, next to the SHA-256 of the token it replaced.
     */
    public Optional<RegeneratedToken> regenerateToken(String id) {
        String token = Secrets.newToken();
        return database.inTransaction(connection -> {
            String replaced;
            try (PreparedStatement select = connection.prepareStatement(
                    "SELECT token_sha256 FROM tunnels WHERE id = ?")) {
                select.setString(1, id);
                try (ResultSet rows = select.executeQuery()) {
                    if (!rows.next()) {
                        return Optional.empty();
                    }
                    replaced = rows.getString(1);
                }
            }
            try (PreparedStatement update = connection.prepareStatement(
                    "UPDATE tunnels SET token_sha256 = ?, updated_at = ? WHERE id = ?")) {
                update.setString(1, Secrets.sha256Hex(token));
                update.setString(2, Rfc3339.format(now()));
                update.setString(3, id);
                update.executeUpdate();
            }
            return findTunnel(connection, id).map(t -> new RegeneratedToken(
                    new Tunnel(t.id(), t.name(), token, t.createdAt(), t.updatedAt()), replaced));
        });
    }

    /** Deletes the tunnel and its services (each told to the listeners as deleted). False if there is no such tunnel. */
    public boolean deleteTunnel(String id) throws ServiceConflictException {
        return changingServices((connection, told) -> {
            if (findTunnel(connection, id).isEmpty()) {
                return false;
            }
            List<Change> changes = new ArrayList<>();
            for (Service service : ServiceRows.select(connection, SELECT_SERVICE + " WHERE tunnel_id = ?", id)) {
                changes.add(new Change(service, null));
            }
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM tunnels WHERE id = ?")) {
                delete.setString(1, id);
                delete.executeUpdate();
            }
            tellListeners(changes, told);
            return true;
        });
    }

    private static void refuseAtLimit(Connection connection, String table, int most) throws SQLException {
        try (PreparedStatement count = connection.prepareStatement("SELECT count(*) FROM " + table);
             ResultSet rows = count.executeQuery()) {
            if (rows.getInt(1) >= most) {
                throw new LimitReachedException("there are " + most + " " + table + " already");
            }
        }
    }

    private static Optional<Tunnel> findTunnel(Connection connection, String id) throws SQLException {
        try (PreparedStatement select = connection.prepareStatement(SELECT_TUNNEL + " WHERE id = ?")) {
            select.setString(1, id);
            return tunnelRows(select).stream().findFirst();
        }
    }

    private static List<Tunnel> tunnelRows(PreparedStatement select) throws SQLException {
        List<Tunnel> tunnels = new ArrayList<>();
        try (ResultSet rows = select.executeQuery()) {
            while (rows.next()) {
                tunnels.add(new Tunnel(rows.getString("id"), rows.getString("name"), null,
                        Rfc3339.parse(rows.getString("created_at")), Rfc3339.parse(rows.getString("updated_at"))));
            }
        }
        return tunnels;
    }

    // ---- services

    /** Every service of every tunnel. */
    public List<Service> services() {
        return database.read(connection -> ServiceRows.select(connection, SELECT_SERVICE + IN_ORDER_STORED));
    }

    public List<Service> services(String tunnelId) {
        return database.read(connection ->
                ServiceRows.select(connection, SELECT_SERVICE + " WHERE tunnel_id = ?" + IN_ORDER_STORED, tunnelId));
    }

    public Optional<Service> service(String id) {
        return database.read(connection -> findService(connection, id));
    }

    /**
     * Stores a new service made from {@code draft} (its id and created_at are assigned here). Empty when the
     * draft's tunnel does not exist.
     */
    public Optional<Service> createService(Service draft) throws ServiceConflictException {
        return createService(draft, Integer.MAX_VALUE);
    }

    /** As {@link #createService(Service)}, unless there are {@code most} services already (as for tunnels). */
    public Optional<Service> createService(Service draft, int most) throws ServiceConflictException {
        return createService(draft, most, PortPicker.NONE);
    }

    /**
     * As {@link #createService(Service, int)}; a tcp service asking for any port ({@code 0.0.0.0:0}) is stored with
     * the one {@code ports} chooses.
     */
    public Optional<Service> createService(Service draft, int most, PortPicker ports) throws ServiceConflictException {
        return changingServices((connection, told) -> {
            refuseAtLimit(connection, "services", most);
            if (findTunnel(connection, draft.tunnelId()).isEmpty()) {
                return Optional.empty();
            }
            Service draftWithId = new Service(Secrets.newId(), draft.tunnelId(), draft.type(), draft.domain(),
                    draft.pathPrefix(), draft.tlsMode(), draft.listenAddr(), draft.targetAddr(), draft.enabled(), now(),
                    draft.httpsRedirect(), draft.access());
            List<Service> stored = ServiceRows.select(connection, SELECT_SERVICE);
            return Optional.of(storeAndTell(connection, told, draftWithId, ports, stored, candidate -> {
                ServiceConflicts.check(stored, candidate);
                return new Change(null, ServiceRows.insert(connection, candidate));
            }));
        });
    }

    /**
     * Replaces the service with {@code change} applied to the stored one (id, tunnel, created_at and creation order
     * are kept).
     * Empty when there is no such service. Exceptions thrown by {@code change} roll back and propagate.
     */
    public Optional<Service> updateService(String id, UnaryOperator<Service> change) throws ServiceConflictException {
        return updateService(id, change, PortPicker.NONE);
    }

    /** As {@link #updateService(String, UnaryOperator)}; a change to any port gets the one {@code ports} chooses. */
    public Optional<Service> updateService(String id, UnaryOperator<Service> change, PortPicker ports)
            throws ServiceConflictException {
        return changingServices((connection, told) -> {
            Optional<Service> stored = findService(connection, id);
            if (stored.isEmpty()) {
                return Optional.empty();
            }
            Service before = stored.get();
            Service changed = change.apply(before);
            Service after = new Service(before.id(), before.tunnelId(), changed.type(), changed.domain(), changed.pathPrefix(),
                    changed.tlsMode(), changed.listenAddr(), changed.targetAddr(), changed.enabled(), before.createdAt(),
                    changed.httpsRedirect(), changed.access(), before.creationOrder());
            List<Service> all = ServiceRows.select(connection, SELECT_SERVICE);
            return Optional.of(storeAndTell(connection, told, after, ports, all, candidate -> {
                if (ServiceConflicts.routesDiffer(before, candidate)) {
                    // Pairs stored before a rule was tightened (prefixes that route the same) stay editable otherwise.
                    ServiceConflicts.check(all, candidate);
                }
                ServiceRows.update(connection, candidate);
                return new Change(before, candidate);
            }));
        });
    }

    /** Writes a service to the transaction's connection: the change it made. */
    @FunctionalInterface
    private interface ServiceWrite {
        Change write(Service service) throws SQLException, ServiceConflictException;
    }

    /**
     * Writes {@code asked} and tells the listeners of the change: the service as stored. A tcp service asking for any
     * port is written with the one {@code ports} chooses; when a listener finds another program holding it (taken in
     * the moment between the choice and the bind), the write is undone and another port chosen, {@link #PORT_PICKS}
     * times at most. A port the user named is refused at once.
     */
    private Service storeAndTell(Connection connection, List<ServiceListener.Staged> told, Service asked,
                                PortPicker ports, List<Service> stored, ServiceWrite write)
            throws SQLException, ServiceConflictException {
        if (!PortPicker.asksForAnyPort(asked)) {
            Change change = write.write(asked);
            tellListeners(List.of(change), told);
            return change.after();
        }
        for (int pick = 1; ; pick++) {
            Service candidate = asked.withListenAddr(ports.pick(asked, stored));
            Savepoint unwritten = connection.setSavepoint();
            Change change = write.write(candidate);
            try {
                tellListeners(List.of(change), told);
                connection.releaseSavepoint(unwritten);
                return change.after();
            } catch (PortInUseException e) {
                if (pick == PORT_PICKS) {
                    // The user asked for no port: the port alone would read as if theirs were taken, with no way on.
                    throw new PortInUseException(e.getMessage() + " (each of the " + PORT_PICKS + " ports chosen for"
                            + " it was taken by another program before it could be bound); try again, or name a port",
                            e);
                }
                connection.rollback(unwritten);
                log.info("tcp service {}: another program took {}, the port chosen for it, before it was bound;"
                        + " choosing another", candidate.id(), candidate.listenAddr());
            }
        }
    }

    /** False when there is no such service. */
    public boolean deleteService(String id) throws ServiceConflictException {
        return changingServices((connection, told) -> {
            Optional<Service> stored = findService(connection, id);
            if (stored.isEmpty()) {
                return false;
            }
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM services WHERE id = ?")) {
                delete.setString(1, id);
                delete.executeUpdate();
            }
            tellListeners(List.of(new Change(stored.get(), null)), told);
            return true;
        });
    }

    private static Optional<Service> findService(Connection connection, String id) throws SQLException {
        return ServiceRows.select(connection, SELECT_SERVICE + " WHERE id = ?", id).stream().findFirst();
    }

    // ---- listeners

    private record Change(Service before, Service after) {
    }

    /** A service change in a transaction; it adds each change it has told a listener of to {@code told}. */
    @FunctionalInterface
    private interface ServiceWork<T> {
        T run(Connection connection, List<ServiceListener.Staged> told) throws SQLException, ServiceConflictException;
    }

    /**
     * Runs {@code work} in a transaction. The listeners are told inside it, so that one refusing rolls it back; when
     * the commit then fails (the disk full, say), they undo their change too: otherwise a service that is not stored
     * would stay live (its port bound, its route answering) and a deleted one gone, until the next start. Once it is
     * committed they are told so. Either is told before the write connection is released, so that it cannot undo, or
     * finish, a change that came in after.
     */
    private <T> T changingServices(ServiceWork<T> work) throws ServiceConflictException {
        List<ServiceListener.Staged> told = new ArrayList<>();
        return database.inTransaction(connection -> work.run(connection, told), () -> stored(told), () -> undo(told));
    }

    /**
     * Tells every listener of every change, adding each to {@code told}; on the first refusal, undoes what was told,
     * newest first, and rethrows.
     */
    private void tellListeners(List<Change> changes, List<ServiceListener.Staged> told)
            throws ServiceConflictException {
        try {
            for (Change change : changes) {
                for (ServiceListener listener : listeners) {
                    told.add(listener.stage(change.before(), change.after()));
                }
            }
        } catch (ServiceConflictException | RuntimeException e) {
            undo(told);
            throw e;
        }
    }

    /**
     * Tells the changes in {@code told} that they are stored, oldest first, and empties it. A listener that throws,
     * an Error of its own as a RuntimeException, is logged and the later ones are told all the same (as
     * {@code HttpRoutes} tells its followers); a VirtualMachineError is the JVM's and goes on.
     */
    private static void stored(List<ServiceListener.Staged> told) {
        for (ServiceListener.Staged change : told) {
            try {
                change.stored();
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Throwable failure) {
                log.warn("A service listener failed to follow a stored change", failure);
            }
        }
        told.clear();
    }

    /** Undoes the changes in {@code told}, newest first, and empties it; a throw is taken as {@link #stored}'s. */
    private static void undo(List<ServiceListener.Staged> told) {
        for (ServiceListener.Staged change : told.reversed()) {
            try {
                change.undo();
            } catch (UndoFailedException logged) {
                log.debug("A service listener could not undo a change that was not stored, and logged it: {}",
                        logged.getMessage());
            } catch (VirtualMachineError e) {
                throw e;
            } catch (Throwable undoFailure) {
                log.warn("A service listener could not undo a change that was not stored", undoFailure);
            }
        }
        told.clear();
    }

    @Override
    public void close() {
        database.close();
    }
}
