package io.picotunnel.server.monitor;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.picotunnel.protocol.config.Durations;
import io.picotunnel.server.events.EventLog;
import io.picotunnel.server.store.Rfc3339;
import io.picotunnel.server.store.Service;
import io.picotunnel.server.store.ServiceType;
import io.picotunnel.server.store.Store;
import io.picotunnel.server.store.Tunnel;
import io.picotunnel.server.tunnel.TunnelRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Checks every tunnel and every enabled service at a fixed interval (the first time one interval after start,
 * so that clients have reconnected after a restart), stores the results, records each change of state once (with
 * an event), alerts the webhooks once a new state held for {@code alertAfter} checks, and prunes old checks. All
 * of it on one thread of its own; the probes themselves run on the tunnels' event loops.
 */
public final class Monitor implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Monitor.class);
    private static final Duration PRUNE_EVERY = Duration.ofMinutes(1);
    /**
     * A new service is first probed at the first round one interval, or this long when the interval is longer, after
     * it was created, re-enabled or given another target ({@link FirstProbeWait}): its target is often started along
     * with it (the README's walkthrough), and a probe that finds it still starting is a "connection refused" WARN in the
     * client's log and a service_down event for nothing.
     */
    static final Duration MAX_FIRST_SERVICE_CHECK_AFTER = Duration.ofSeconds(10);
    /** How far back a restart looks for the state the alerts had confirmed (past a tunnel that flapped). */
    private static final int RUNS_LOOKED_AT = 50;

    private final MonitorSettings settings;
    private final Store store;
    private final CheckStore checks;
    private final EventLog events;
    private final Probes probes;
    private final Webhooks webhooks;
    private final Alerts alerts;
    private final Clock clock;
    private final FirstProbeWait firstProbes;
    /** The state of each subject as last recorded; loaded from the database the first time a subject is checked. */
    private final Map<Subject, CheckStatus> states = new HashMap<>();
    private final Map<String, String> tunnelNames = new HashMap<>();
    private final Map<String, Service> servicesById = new HashMap<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread t = new Thread(runnable, "picotunnel-monitor");
        t.setDaemon(true);
        return t;
    });
    /** When the last prune ran ({@link System#nanoTime()}) and up to what time it pruned; null before the first. */
    private Long lastPruneNanos;
    private Instant lastCut;
    /** When the newest round started ({@link System#nanoTime()}), null before the first. */
    private Long lastRoundNanos;
    private volatile Metrics metrics;
    /**
     * Set when the server begins to stop: a round then in flight sees its probes fail as the listeners and tunnels
     * close, and records nothing.
     */
    private volatile boolean stopping;

    public Monitor(MonitorSettings settings, Store store, TunnelRegistry registry, CheckStore checks, EventLog events,
                   Clock clock) {
        this(settings, store, registry, checks, events, clock, new Webhooks(settings.webhookUrls()));
    }

    Monitor(MonitorSettings settings, Store store, TunnelRegistry registry, CheckStore checks, EventLog events,
            Clock clock, Webhooks webhooks) {
        this.settings = settings;
        this.store = store;
        this.checks = checks;
        this.events = events;
        this.clock = clock;
        this.probes = new Probes(registry, settings.checkTimeout(), clock);
        this.webhooks = webhooks;
        this.alerts = new Alerts(settings.alertAfter(), this::alert);
        this.firstProbes = new FirstProbeWait(clock);
    }

    public void start() {
        store.addServiceListener(firstProbes);
        long every = settings.checkInterval().toMillis();
        thread.scheduleAtFixedRate(this::tick, every, every, TimeUnit.MILLISECONDS);
        log.info("Checking tunnels and services every {}{}", Durations.format(settings.checkInterval()),
                webhooks.isEmpty() ? "" : ", alerts to " + settings.webhookUrls().size() + " webhook(s)");
    }

    /** Counts every check result in {@code target} from now on. */
    public void exportTo(Metrics target) {
        this.metrics = target;
    }

    public CheckStore checks() {
        return checks;
    }

    private void tick() {
        // A fixed-rate schedule runs the rounds a slow one held up (a locked or stalled database) back to back once
        // it ends: checks milliseconds apart would confirm a change of state at once and weigh the uptime. Late
        // rounds run once, then the schedule goes on.
        long now = System.nanoTime();
        if (lastRoundNanos != null && now - lastRoundNanos < settings.checkInterval().toNanos() / 2) {
            return;
        }
        lastRoundNanos = now;
        try {
            pruneNow();
            runChecks();
        } catch (RuntimeException e) {
            log.warn("Checking tunnels failed: {}", e.toString());
        }
    }

    private void pruneNow() {
        prune(clock.instant(), System.nanoTime());
    }

    /** How long after its creation a service is first probed: one interval, at most {@link #MAX_FIRST_SERVICE_CHECK_AFTER}. */
    static Duration firstServiceCheckAfter(Duration checkInterval) {
        return checkInterval.compareTo(MAX_FIRST_SERVICE_CHECK_AFTER) < 0 ? checkInterval : MAX_FIRST_SERVICE_CHECK_AFTER;
    }

    /**
     * Prunes the checks and events older than the retention, once a minute of real time ({@code nanoTime}, not the
     * wall clock: a clock set back stopped the pruning until it caught up). The cut is {@code now} less the
     * retention, but never later than the newest check stored less the retention (the first prune after a long stop
     * keeps the last retention's worth), nor later than the previous cut plus the real time since it: a clock stepped
     * forward by a year (a VM resumed, a bad NTP answer) deleted every check and event at once. Returns the cut, or
     * null when it was not time to prune.
     */
    Instant prune(Instant now, long nanoTime) {
        if (lastPruneNanos != null && nanoTime - lastPruneNanos < PRUNE_EVERY.toNanos()) {
            return null;
        }
        Instant cut = now.minus(settings.checkRetention());
        if (lastCut == null) {
            Instant newest = checks.newestTime().orElse(now);
            if (newest.isBefore(now)) {
                cut = newest.minus(settings.checkRetention());
            }
        } else {
            Instant moved = lastCut.plusNanos(nanoTime - lastPruneNanos);
            if (moved.isBefore(cut)) {
                cut = moved;
            }
        }
        lastPruneNanos = nanoTime;
        lastCut = cut;
        int pruned = checks.prune(cut);
        events.prune(cut);
        if (pruned > 0) {
            log.debug("Pruned {} checks older than {}", pruned, Rfc3339.format(cut));
        }
        return cut;
    }

    private void runChecks() {
        List<Tunnel> tunnels = store.tunnels();
        List<Service> services = store.services();
        tunnelNames.clear();
        tunnels.forEach(tunnel -> tunnelNames.put(tunnel.id(), tunnel.name()));
        servicesById.clear();
        services.forEach(service -> servicesById.put(service.id(), service));
        List<CompletableFuture<Check>> running = new ArrayList<>();
        for (Tunnel tunnel : tunnels) {
            running.add(probes.tunnel(tunnel.id()));
        }
        // One read of every enabled service's settings (batched), not one per service per round.
        Map<String, ServiceCheckSettings> settings = checks.settings(
                services.stream().filter(Service::enabled).map(Service::id).toList());
        Instant now = clock.instant();
        Duration firstCheckAfter = firstServiceCheckAfter(this.settings.checkInterval());
        for (Service service : services) {
            if (!service.enabled() || firstProbes.waits(service, firstCheckAfter, now)) {
                continue;
            }
            ServiceCheckSettings serviceSettings = settings.getOrDefault(service.id(), ServiceCheckSettings.DEFAULT);
            if (serviceSettings.enabled()) {
                running.add(probes.service(service, serviceSettings));
            }
        }
        List<Check> results = new ArrayList<>();
        for (CompletableFuture<Check> check : running) {
            // Every probe completes by its timeout; the margin only guards against a bug.
            results.add(check.completeOnTimeout(null, probes.timeout().toMillis() + 2_000, TimeUnit.MILLISECONDS).join());
        }
        results.removeIf(java.util.Objects::isNull);
        if (stopping) {
            // The server began to stop while the probes ran: a probe that failed because its tunnel or listener was
            // closing would record a false "down" (and alert it). Nothing of this round is kept.
            log.debug("Checks of a round that ended after the stop began are not recorded");
            return;
        }
        Metrics target = metrics;
        if (target != null) {
            results.forEach(target::check);
            Set<Subject> checked = new HashSet<>();
            results.forEach(check -> checked.add(check.subject()));
            target.retain(checked, id -> tunnelNames.containsKey(id) || store.tunnel(id).isPresent());
        }
        List<Check> changes = new ArrayList<>();
        List<Check> eventful = new ArrayList<>();
        Set<Subject> seen = new HashSet<>();
        for (Check check : results) {
            seen.add(check.subject());
            CheckStatus before = states.computeIfAbsent(check.subject(), this::storedState);
            if (before == null) {
                alerts.prime(check.subject(), check.status());
            }
            if (before != check.status()) {
                changes.add(check);
                // An up state is an event only when it ends an outage, not when a subject is first seen up.
                if (before != null || check.status() == CheckStatus.DOWN) {
                    eventful.add(check);
                }
                states.put(check.subject(), check.status());
            }
        }
        states.keySet().retainAll(seen);
        alerts.retain(seen);
        // Alerts only for checks stored, after they are: a webhook receiver that asks the API at once sees the check.
        List<Check> stored = results;
        try {
            checks.record(results, changes);
        } catch (RuntimeException e) {
            // A tunnel or service deleted while it was being checked: its rows are refused, store the rest. Only checks
            // of subjects still stored are told as lost; those of deleted ones are dropped (DEBUG).
            log.debug("Recording checks failed ({}), recording them one by one", e.getMessage());
            int lost = 0;
            String why = null;
            stored = new ArrayList<>();
            for (Check check : results) {
                try {
                    checks.record(List.of(check), changes.contains(check) ? List.of(check) : List.of());
                    stored.add(check);
                } catch (RuntimeException notStored) {
                    log.debug("check of {} not recorded: {}", check.subject(), notStored.getMessage());
                    // Compare the next check with what is stored, so a change of state not stored is not lost;
                    // its event waits for that check too.
                    states.remove(check.subject());
                    eventful.remove(check);
                    if (stillStored(check.subject())) {
                        lost++;
                        why = notStored.getMessage();
                    }
                }
            }
            if (lost > 0) {
                log.warn("Could not store {} check(s) ({}); a change of state they show is recorded with the next"
                        + " check stored.", lost, why);
            }
        }
        stored.forEach(alerts::observe);
        for (Check change : eventful) {
            events.record(eventType(change), change.subject().tunnelId(), change.subject().serviceId(), describe(change));
        }
    }

    /**
     * Whether a subject whose check was refused is still stored, read again now: one deleted during the round (its
     * tunnel or itself) had its check refused as it should, and is no storage failure. When the read fails too, the
     * storage does: it is taken as stored, so the failure is told.
     */
    private boolean stillStored(Subject subject) {
        try {
            return store.tunnel(subject.tunnelId()).isPresent()
                    && (subject.isTunnel() || store.service(subject.serviceId()).isPresent());
        } catch (RuntimeException e) {
            return true;
        }
    }

    /**
     * The subject's state as stored before a restart; the alerts get the state confirmed then (the newest that
     * held for {@code alertAfter} checks, or the first ever seen) and the newer one still being counted, if any:
     * a change not yet confirmed when the server stopped is alerted once it held long enough, not taken as known.
     */
    private CheckStatus storedState(Subject subject) {
        List<CheckStore.Run> runs = checks.runs(subject, settings.alertAfter(), RUNS_LOOKED_AT);
        if (runs.isEmpty()) {
            return null;
        }
        int confirmed = 0;
        while (confirmed < runs.size() - 1 && runs.get(confirmed).checks() < settings.alertAfter()) {
            confirmed++;
        }
        CheckStore.Run newest = runs.getFirst();
        alerts.restore(subject, runs.get(confirmed).change().status(), newest.change(), newest.checks());
        return newest.change().status();
    }

    private static String eventType(Check change) {
        boolean up = change.status() == CheckStatus.UP;
        return change.subject().isTunnel() ? (up ? EventLog.TUNNEL_UP : EventLog.TUNNEL_DOWN)
                : (up ? EventLog.SERVICE_UP : EventLog.SERVICE_DOWN);
    }

    private String name(Subject subject) {
        String tunnel = "tunnel " + tunnelNames.getOrDefault(subject.tunnelId(), subject.tunnelId());
        if (subject.isTunnel()) {
            return tunnel;
        }
        Service service = servicesById.get(subject.serviceId());
        String what = service == null ? "service " + subject.serviceId()
                : service.type() == ServiceType.HTTP ? "HTTP service " + service.domain()
                        + (service.pathPrefix() == null || service.pathPrefix().equals("/") ? "" : service.pathPrefix())
                : "TCP service " + service.listenAddr();
        return what + " of " + tunnel;
    }

    private String describe(Check change) {
        return change.status() == CheckStatus.UP ? capitalised(name(change.subject())) + " is up"
                : capitalised(name(change.subject())) + " is down: " + change.error();
    }

    private static String capitalised(String text) {
        return Character.toUpperCase(text.charAt(0)) + text.substring(1);
    }

    private void alert(Alerts.Alert alert) {
        boolean up = alert.status() == CheckStatus.UP;
        String text = (up ? "✅ " : "🔴 ") + capitalised(name(alert.subject())) + (up ? " is up again" : " is down")
                + (up || alert.error() == null ? "" : ": " + alert.error()) + " (since " + Rfc3339.format(alert.since()) + ")";
        ObjectNode details = JsonNodeFactory.instance.objectNode();
        details.put("event", eventType(new Check(0, alert.subject(), alert.status(), null, null, alert.since())));
        details.put("tunnel_id", alert.subject().tunnelId());
        details.put("tunnel_name", tunnelNames.get(alert.subject().tunnelId()));
        details.put("service_id", alert.subject().serviceId());
        details.put("status", alert.status().json());
        details.put("error", up ? null : alert.error());
        details.put("since", Rfc3339.format(alert.since()));
        webhooks.send(text, details);
    }

    /**
     * Runs no more rounds, and records nothing (no check, event, metric or alert) of a round still in progress: for
     * a stop, with a grace period or not, clients leave and listeners close, and checks then would record every tunnel
     * and service as down at every restart. Alerts already confirmed are still delivered until {@link #close}. Called
     * first when the server stops.
     */
    public void stopChecking() {
        stopping = true;
        thread.shutdown();
    }

    /**
     * Stops the checks, then gives alerts on their way the webhooks' grace. Interrupted (a stop that is itself told to
     * hurry), it still does: the grace is bounded, and the interrupt is set again after it.
     */
    @Override
    public void close() {
        stopping = true;
        thread.shutdownNow();
        boolean interrupted = false;
        try {
            thread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        // Set, the interrupt would end the webhooks' wait at once and drop every alert still on its way.
        interrupted |= Thread.interrupted();
        try {
            webhooks.close();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
