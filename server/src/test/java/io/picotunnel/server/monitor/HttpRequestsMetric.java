package io.picotunnel.server.monitor;

/** Reads {@code picotunnel_http_requests_total} of a service off a {@code /metrics} exposition. */
final class HttpRequestsMetric {

    static final String NAME = "picotunnel_http_requests_total";

    private HttpRequestsMetric() {
    }

    /** The count of the responses of {@code statusClass} ("4xx") of service {@code serviceId}; fails when it is not there. */
    static long value(String exposition, String serviceId, String statusClass) {
        for (String line : exposition.split("\n")) {
            if (line.startsWith(NAME + "{") && line.contains("service=\"" + serviceId + "\"")
                    && line.contains("status=\"" + statusClass + "\"")) {
                return (long) Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no " + NAME + " of service " + serviceId + " and status " + statusClass);
    }
}
