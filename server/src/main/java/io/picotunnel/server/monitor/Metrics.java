package io.picotunnel.server.monitor;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.tunnel.TunnelRegistry;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.Predicate;

/**
 * The server's metrics for Prometheus ({@code GET /metrics}), names prefixed {@code picotunnel_}: connected tunnels
 * and clients, open streams, bytes and connections per tunnel and service, HTTP requests by service and status
 * class with a duration histogram, upstream streams opened and reused, check results; plus JVM and process metrics.
 */
public final class Metrics implements AutoCloseable {

    /** The meters of a service's traffic that depend on what it does ({@link Service#answersRequests}). */
    private static final List<String> KIND_METERS = List.of("picotunnel_http_requests", "picotunnel_http_request_duration",
            "picotunnel_http_upstream_streams_opened", "picotunnel_http_upstream_streams_reused",
            "picotunnel_tcp_connections", "picotunnel_connections_refused");
    /** The meters of every service's traffic ({@link #register} with the prefix {@code picotunnel_service}). */
    private static final List<String> SERVICE_METERS = List.of("picotunnel_service_bytes_in",
            "picotunnel_service_bytes_out", "picotunnel_service_connections_active");
    /** The meters of a tunnel's or service's checks ({@link #check}), tagged with {@link #tags(Subject)}. */
    private static final List<String> CHECK_METERS = List.of("picotunnel_checks", "picotunnel_check_up");

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Map<Subject, AtomicInteger> checkStates = new ConcurrentHashMap<>();
    /**
     * The services whose meters are registered ({@link #serviceCounters}, as {@link Traffic} is told of each), until
     * they are deleted: only their checks are counted. A check under way when its service was deleted would otherwise
     * register its series again after {@link #serviceRemoved}, to stay until the next round.
     */
    private final Set<String> knownServices = new HashSet<>();
    /**
     * Services told as deleted whose delete is not known to be stored ({@link #serviceDeleting} until {@link
     * #serviceRemoved}): their meters stay, so that a delete the store undoes leaves the values as they were (the
     * check counts, the duration histogram and the check state are held by the meters alone).
     */
    private final Map<String, Service> deleting = new HashMap<>();
    /**
     * Tunnels deleted since the last {@link #retain}, whose checks under way at the delete are not counted. A tunnel's
     * meters are made only with its first service or when the API first shows it, so a tunnel checked is not always
     * known as a service is; a deleted one is, until a round that began after its delete (and so did not check it).
     */
    private final Set<String> deletedTunnels = new HashSet<>();
    private JvmGcMetrics gc;

    public Metrics(TunnelRegistry tunnels) {
        Gauge.builder("picotunnel_tunnels_connected", tunnels, TunnelRegistry::connectedCount)
                .description("Tunnels with at least one client connected").register(registry);
        Gauge.builder("picotunnel_clients_connected", tunnels, Metrics::clients)
                .description("Client connections of all tunnels").register(registry);
        Gauge.builder("picotunnel_streams_open", tunnels, Metrics::streams)
                .description("Open yamux streams of all client connections").register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
    }

    /** Registers the gauge of the http proxy's idle keep-alive streams, over all services (once, when the proxy starts). */
    public void idleUpstreams(IntSupplier idleCount) {
        // A lambda held by nothing else: a gauge's usual weak reference would let it go, and the gauge read NaN.
        Gauge.builder("picotunnel_http_upstream_streams_idle", idleCount, IntSupplier::getAsInt).strongReference(true)
                .description("Idle keep-alive streams to http services' targets, waiting for a request").register(registry);
    }

    private static double clients(TunnelRegistry tunnels) {
        return tunnels.allConnections().size();
    }

    private static double streams(TunnelRegistry tunnels) {
        return tunnels.allConnections().stream().mapToInt(connection -> connection.session().activeStreams()).sum();
    }

    /** Registers the meters of a tunnel's counters (called once, when they are created). */
    void tunnelCounters(String tunnelId, TrafficCounters counters) {
        register("picotunnel_tunnel", Tags.of("tunnel", tunnelId), counters, "tunnel");
    }

    /** Registers the meters of a service's counters (called once, when they are created, or its delete is undone). */
    synchronized void serviceCounters(Service service, TrafficCounters counters) {
        knownServices.add(service.id());
        deleting.remove(service.id()); // its delete undone: the meters are still there, and registering finds them
        Tags tags = serviceTags(service);
        register("picotunnel_service", tags, counters, "service");
        kindCounters(service, tags, counters);
    }

    /**
     * A service switched between terminating TLS and passing it through ({@link Service#answersRequests} changed): the series
     * of what it did before are removed and those of what it does now registered, on the same counters. Under the
     * lock of {@link #serviceDeleting}: a switch racing a delete registers nothing for the deleted service.
     */
    synchronized void serviceSwitched(Service service, TrafficCounters counters) {
        if (!knownServices.contains(service.id())) {
            return;
        }
        Tags tags = serviceTags(service);
        remove(KIND_METERS, tags);
        counters.onDuration(nanos -> { });
        kindCounters(service, tags, counters);
    }

    /**
     * A service is being deleted, inside the transaction that may yet be undone: a check of it under way is not counted
     * when it ends (the same lock as {@link #check}), and its meters stay until {@link #serviceRemoved}.
     */
    synchronized void serviceDeleting(Service service) {
        knownServices.remove(service.id());
        deleting.put(service.id(), service);
    }

    /**
     * A service's delete is stored: the meters of its traffic and of its checks go at once. Nothing for a service not
     * being deleted (its delete undone since, or its meters gone already).
     */
    synchronized void serviceRemoved(String serviceId) {
        Service service = deleting.remove(serviceId);
        if (service == null) {
            return;
        }
        remove(SERVICE_METERS, serviceTags(service));
        remove(KIND_METERS, serviceTags(service));
        Subject subject = new Subject(service.tunnelId(), service.id());
        remove(CHECK_METERS, tags(subject));
        checkStates.remove(subject);
    }

    /**
     * A tunnel was deleted (and stored so): every series of it goes at once (its services' went as each was deleted),
     * its check states with them, and a check of it under way is not counted when it ends.
     */
    synchronized void tunnelRemoved(String tunnelId) {
        deletedTunnels.add(tunnelId);
        deleting.values().removeIf(service -> service.tunnelId().equals(tunnelId));
        for (Meter meter : registry.getMeters()) {
            if (tunnelId.equals(meter.getId().getTag("tunnel"))) {
                registry.remove(meter);
            }
        }
        checkStates.keySet().removeIf(subject -> subject.tunnelId().equals(tunnelId));
    }

    private void remove(List<String> names, Tags tags) {
        for (String name : names) {
            for (Meter meter : registry.find(name).tags(tags).meters()) {
                registry.remove(meter);
            }
        }
    }

    private static Tags serviceTags(Service service) {
        return Tags.of("tunnel", service.tunnelId(), "service", service.id(), "type", service.type().json());
    }

    private void kindCounters(Service service, Tags tags, TrafficCounters counters) {
        if (service.answersRequests()) {
            for (int hundreds = 1; hundreds <= 5; hundreds++) {
                int statusClass = hundreds;
                FunctionCounter.builder("picotunnel_http_requests", counters, c -> c.responses(statusClass))
                        .description("HTTP responses to visitors by status class")
                        .tags(tags.and("status", hundreds + "xx")).register(registry);
            }
            Timer timer = Timer.builder("picotunnel_http_request_duration")
                    .description("From a request's head to the end of its response").tags(tags)
                    .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofMinutes(2)).register(registry);
            counters.onDuration(nanos -> timer.record(Duration.ofNanos(nanos)));
            FunctionCounter.builder("picotunnel_http_upstream_streams_opened", counters, TrafficCounters::upstreamsOpened)
                    .description("Streams to an http service's target opened for a request").tags(tags).register(registry);
            FunctionCounter.builder("picotunnel_http_upstream_streams_reused", counters, TrafficCounters::upstreamsReused)
                    .description("Requests of an http service that took an idle keep-alive stream to its target")
                    .tags(tags).register(registry);
        } else {
            FunctionCounter.builder("picotunnel_tcp_connections", counters, TrafficCounters::totalConnections)
                    .description("Connections accepted by a tcp service").tags(tags).register(registry);
            for (TrafficCounters.Refusal why : TrafficCounters.Refusal.values()) {
                FunctionCounter.builder("picotunnel_connections_refused", counters, c -> c.refusals(why))
                        .description("Connections of a tcp or passthrough service refused by its ip rules or rate limit")
                        .tags(tags.and("reason", why.label())).register(registry);
            }
        }
    }

    private void register(String prefix, Tags tags, TrafficCounters counters, String what) {
        FunctionCounter.builder(prefix + "_bytes_in", counters, TrafficCounters::bytesIn)
                .description("Bytes from visitors of the " + what).tags(tags).register(registry);
        FunctionCounter.builder(prefix + "_bytes_out", counters, TrafficCounters::bytesOut)
                .description("Bytes to visitors of the " + what).tags(tags).register(registry);
        Gauge.builder(prefix + "_connections_active", counters, TrafficCounters::activeConnections)
                .description("Connections (tcp) or requests (http) of the " + what + " in progress").tags(tags)
                .register(registry);
    }

    /**
     * One check result: counted, and the subject's state (1 up, 0 down) kept as a gauge; not when its tunnel or service
     * was deleted while it ran. Under the lock of {@link #serviceDeleting} and {@link #tunnelRemoved}: counted before a
     * delete, it goes with it; ending after, it is not counted.
     */
    synchronized void check(Check check) {
        Subject subject = check.subject();
        boolean deleted = deletedTunnels.contains(subject.tunnelId())
                || !subject.isTunnel() && !knownServices.contains(subject.serviceId());
        if (deleted) {
            return;
        }
        Tags tags = tags(subject);
        Counter.builder("picotunnel_checks").description("Checks of tunnels and services by result")
                .tags(tags.and("status", check.status().json())).register(registry).increment();
        AtomicInteger state = checkStates.computeIfAbsent(subject, absent -> {
            AtomicInteger value = new AtomicInteger();
            Gauge.builder("picotunnel_check_up", value, AtomicInteger::get)
                    .description("1 when the newest check of the tunnel or service was up, else 0").tags(tags)
                    .register(registry);
            return value;
        });
        state.set(check.status() == CheckStatus.UP ? 1 : 0);
    }

    /**
     * Drops the meters of tunnels and services that no longer exist, and the check state ({@code picotunnel_check_up})
     * of subjects not checked any more (a service disabled or with its probe off): a stale 0 would keep an alert
     * rule firing. Meters are told apart by their {@code tunnel} and {@code service} tags. A service's are kept while
     * it is one this knows or one being deleted ({@link #serviceCounters} until {@link #serviceRemoved}): not
     * looked up in the database, which does not have a service being created yet (its meters are registered before
     * its create is committed), and dropping them then would lose its series for good. A tunnel id not in {@code
     * checked} is looked up with {@code tunnelExists} once (ids are never reused, so one that does not exist now was
     * deleted).
     *
     * <p>Called at the end of each round, after its {@link #check}s: the next round begins after this, so it does not
     * check the tunnels deleted until now, and they are forgotten.
     */
    void retain(Set<Subject> checked, Predicate<String> tunnelExists) {
        synchronized (this) {
            deletedTunnels.clear();
        }
        Map<String, Boolean> tunnels = new HashMap<>();
        for (Subject subject : checked) {
            tunnels.put(subject.tunnelId(), true);
        }
        for (Meter meter : registry.getMeters()) {
            String tunnel = meter.getId().getTag("tunnel");
            boolean tunnelGone = tunnel != null && !tunnels.computeIfAbsent(tunnel, tunnelExists::test);
            removeUnlessKnown(meter, tunnelGone);
        }
        for (Subject subject : List.copyOf(checkStates.keySet())) {
            if (!checked.contains(subject)) {
                checkStates.remove(subject);
                Gauge state = registry.find("picotunnel_check_up").tags(tags(subject)).gauge();
                if (state != null) {
                    registry.remove(state);
                }
            }
        }
    }

    /**
     * Removes {@code meter} if its tunnel is gone or its service is neither one this knows nor one being deleted; under
     * the lock of {@link #serviceCounters}, so that a service registered meanwhile (its id known before its meters) is
     * never taken as gone.
     */
    private synchronized void removeUnlessKnown(Meter meter, boolean tunnelGone) {
        String service = meter.getId().getTag("service");
        if (tunnelGone || service != null && !service.isEmpty() && !knownServices.contains(service)
                && !deleting.containsKey(service)) {
            registry.remove(meter);
        }
    }

    private static Tags tags(Subject subject) {
        return Tags.of("tunnel", subject.tunnelId(), "service", subject.serviceId() == null ? "" : subject.serviceId());
    }

    /** The Prometheus text format (version 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }

    @Override
    public void close() {
        if (gc != null) {
            gc.close();
        }
        registry.close();
    }
}
