package io.picotunnel.server.monitor;

import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;

/** Counters of one service as {@link Traffic} keeps them, without a store or a tunnel: for tests elsewhere. */
public final class StandaloneTrafficCounters {

    private StandaloneTrafficCounters() {
    }

    public static TrafficCounters create() {
        return new TrafficCounters(null);
    }

    /** Counters of {@code service} shown in metrics of their own, as the server's {@code /metrics} shows a service's. */
    public static Metered metered(Service service) {
        Metrics metrics = new Metrics(new TunnelRegistry());
        TrafficCounters counters = create();
        metrics.serviceCounters(service, counters);
        return new Metered(service.id(), counters, metrics);
    }

    /** A service's counters and the metrics that show them. */
    public record Metered(String serviceId, TrafficCounters counters, Metrics metrics) implements AutoCloseable {

        /** {@code picotunnel_http_requests_total} of the service's responses of {@code statusClass} ("4xx"), scraped. */
        public long scrapedResponses(String statusClass) {
            return HttpRequestsMetric.value(metrics.scrape(), serviceId, statusClass);
        }

        @Override
        public void close() {
            metrics.close();
        }
    }
}
