package io.picotunnel.server.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Maps {@link Service} to and from rows of the {@code services} table. */
final class ServiceRows {

    static final String SELECT_SERVICE = "SELECT rowid, id, tunnel_id, type, domain, path_prefix, tls_mode, listen_addr,"
            + " target_addr, enabled, created_at, https_redirect, " + AccessRows.COLUMNS + " FROM services";

    private ServiceRows() {
    }

    static List<Service> select(Connection connection, String sql, String... parameters) throws SQLException {
        List<Service> services = new ArrayList<>();
        try (PreparedStatement select = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                select.setString(i + 1, parameters[i]);
            }
            try (ResultSet rows = select.executeQuery()) {
                while (rows.next()) {
                    services.add(new Service(
                            rows.getString("id"),
                            rows.getString("tunnel_id"),
                            ServiceType.valueOf(rows.getString("type").toUpperCase(java.util.Locale.ROOT)),
                            rows.getString("domain"),
                            rows.getString("path_prefix"),
                            TlsMode.valueOf(rows.getString("tls_mode").toUpperCase(java.util.Locale.ROOT)),
                            rows.getString("listen_addr"),
                            rows.getString("target_addr"),
                            rows.getInt("enabled") != 0,
                            Rfc3339.parse(rows.getString("created_at")),
                            rows.getInt("https_redirect") != 0,
                            AccessRows.read(rows),
                            rows.getLong("rowid")));
                }
            }
        }
        return services;
    }

    /** Stores {@code service}; returns it with the creation order its row was given. */
    static Service insert(Connection connection, Service service) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO services (type, domain, path_prefix, tls_mode,"
                + " listen_addr, target_addr, enabled, https_redirect, id, tunnel_id, created_at)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            bindFields(insert, service);
            insert.setString(9, service.id());
            insert.setString(10, service.tunnelId());
            insert.setString(11, Rfc3339.format(service.createdAt()));
            insert.executeUpdate();
        }
        long rowid;
        try (PreparedStatement select = connection.prepareStatement("SELECT last_insert_rowid()");
             ResultSet row = select.executeQuery()) {
            rowid = row.getLong(1);
        }
        AccessRows.write(connection, service.id(), service.access());
        return service.withCreationOrder(rowid);
    }

    static void update(Connection connection, Service service) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement("UPDATE services SET type = ?, domain = ?, path_prefix = ?,"
                + " tls_mode = ?, listen_addr = ?, target_addr = ?, enabled = ?, https_redirect = ? WHERE id = ?")) {
            bindFields(update, service);
            update.setString(9, service.id());
            update.executeUpdate();
        }
        AccessRows.write(connection, service.id(), service.access());
    }

    private static void bindFields(PreparedStatement statement, Service service) throws SQLException {
        statement.setString(1, service.type().json());
        statement.setString(2, service.domain());
        statement.setString(3, service.pathPrefix());
        statement.setString(4, service.tlsMode().json());
        statement.setString(5, service.listenAddr());
        statement.setString(6, service.targetAddr());
        statement.setInt(7, service.enabled() ? 1 : 0);
        statement.setInt(8, service.httpsRedirect() ? 1 : 0);
    }
}
