package io.picotunnel.server.packaging;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.picotunnel.client.ClientMain;
import io.picotunnel.client.config.ServerAddress;
import io.picotunnel.server.PicoTunnelServer;
import io.picotunnel.server.ServerConfig;
import io.picotunnel.server.ServerMain;
import io.picotunnel.server.config.Setting;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The deployment files as a new operator meets them: the Dockerfiles (parsed: no Docker engine runs here), the
 * compose file and the Kubernetes manifests (parsed as YAML, with the kinds and keys they need), the systemd units
 * (checked by {@code systemd-analyze verify}), and one image name everywhere.
 */
class DeploymentFilesTest {

    static final Path ROOT = Path.of("").toAbsolutePath().getParent();
    private static final Set<String> DOCKERFILE_INSTRUCTIONS = Set.of("FROM", "RUN", "COPY", "ENV", "WORKDIR", "USER",
            "VOLUME", "EXPOSE", "HEALTHCHECK", "ENTRYPOINT", "CMD", "ARG", "LABEL", "STOPSIGNAL", "SHELL");

    @TempDir
    Path tmp;

    @Test
    void dockerfilesAreMultiStageWithAJlinkRuntimeANonRootUserAndAHealthcheck() throws IOException {
        for (String name : List.of("server", "client")) {
            Dockerfile file = Dockerfile.parse(ROOT.resolve("docker/" + name + ".Dockerfile"));
            assertThat(file.instructions()).extracting(Dockerfile.Instruction::keyword)
                    .as("%s: only known instructions", name).allMatch(DOCKERFILE_INSTRUCTIONS::contains);
            List<Dockerfile.Instruction> stages = file.all("FROM");
            assertThat(stages).as("%s: multi-stage", name).hasSizeGreaterThanOrEqualTo(2);
            assertThat(stages.getLast().arguments()).as("%s: the image is not a JDK", name).doesNotContain("jdk");
            assertThat(file.all("RUN")).extracting(Dockerfile.Instruction::arguments).as("%s: runtime by jlink", name)
                    .anyMatch(run -> run.contains("scripts/dist.sh --stage /opt/picotunnel " + name));

            List<Dockerfile.Instruction> finalStage = file.finalStage();
            List<Dockerfile.Instruction> users = finalStage.stream().filter(i -> i.keyword().equals("USER")).toList();
            assertThat(users).as("%s: a USER in the final stage", name).isNotEmpty();
            assertThat(users.getLast().arguments()).as("%s: not root", name).isNotIn("root", "0", "0:0");
            assertThat(finalStage).extracting(Dockerfile.Instruction::keyword).as(name).contains("HEALTHCHECK");
            assertThat(file.first("ENTRYPOINT").arguments())
                    .isEqualTo("[\"/opt/picotunnel/bin/picotunnel-" + name + "\"]");

            List<String> stageNames = new ArrayList<>();
            for (Dockerfile.Instruction instruction : file.instructions()) {
                if (instruction.keyword().equals("FROM")) {
                    String[] words = instruction.arguments().split("\\s+");
                    if (words.length == 3 && words[1].equalsIgnoreCase("AS")) {
                        stageNames.add(words[2]);
                    }
                }
                if (instruction.keyword().equals("COPY")) {
                    List<String> words = List.of(instruction.arguments().split("\\s+"));
                    String from = words.stream().filter(w -> w.startsWith("--from=")).map(w -> w.substring(7))
                            .findFirst().orElse(null);
                    List<String> sources = words.stream().filter(w -> !w.startsWith("--")).toList();
                    sources = sources.subList(0, sources.size() - 1);
                    if (from == null) {
                        assertThat(sources).as("%s: COPY sources exist in the build context", name)
                                .allMatch(source -> Files.exists(ROOT.resolve(source)));
                    } else {
                        assertThat(stageNames).as("%s: COPY --from names an earlier stage", name).contains(from);
                    }
                }
            }
        }
        Dockerfile server = Dockerfile.parse(ROOT.resolve("docker/server.Dockerfile"));
        assertThat(server.first("VOLUME").arguments()).isEqualTo("/data");
        // What it runs is run by theServerImagesHealthcheckAsksTheManagementListenerWherePicotunnelListenAddrPutsIt.
        assertThat(server.first("HEALTHCHECK").arguments()).contains("picotunnel-server-healthcheck");
        assertThat(server.finalStage()).extracting(Dockerfile.Instruction::arguments).contains("PICOTUNNEL_DATA_DIR=/data");
        assertThat(Files.readString(ROOT.resolve(".dockerignore"))).contains("**/node_modules", "**/target");
    }

    /**
     * The README backs up a server in Docker with "docker compose exec server picotunnel-server backup ...": the image
     * had /opt/picotunnel/bin only in its ENTRYPOINT, not on PATH, so that was "executable file not found in $PATH".
     */
    @Test
    void theServerImageRunsPicotunnelServerByNameForTheBackupTheReadmeShows() throws IOException {
        Dockerfile server = Dockerfile.parse(ROOT.resolve("docker/server.Dockerfile"));
        assertThat(Files.readString(ROOT.resolve("README.md")).replaceAll("\\s+", " "))
                .contains("docker compose exec server picotunnel-server backup /data/backup.db");
        assertThat(server.all("RUN")).extracting(Dockerfile.Instruction::arguments)
                .anySatisfy(run -> assertThat(run).contains("scripts/dist.sh --stage /opt/picotunnel server"));
        assertThat(server.finalStage()).filteredOn(i -> i.keyword().equals("ENV"))
                .extracting(Dockerfile.Instruction::arguments)
                .anySatisfy(env -> assertThat(env).startsWith("PATH=/opt/picotunnel/bin:"));
    }

    /**
     * The command of the server image's HEALTHCHECK as it runs here: exec or shell form, with the files the final
     * stage copies from the build context at their place in the repository.
     */
    private static List<String> serverHealthcheckCommand() throws IOException {
        Dockerfile server = Dockerfile.parse(ROOT.resolve("docker/server.Dockerfile"));
        String arguments = server.first("HEALTHCHECK").arguments();
        String command = arguments.substring(arguments.indexOf("CMD ") + 4).strip();
        for (Dockerfile.Instruction copy : server.finalStage()) {
            List<String> words = List.of(copy.arguments().split("\\s+"));
            if (copy.keyword().equals("COPY") && words.stream().noneMatch(w -> w.startsWith("--"))) {
                command = command.replace(words.getLast(), ROOT.resolve(words.getFirst()).toString());
            }
        }
        return command.startsWith("[")
                ? List.of(new ObjectMapper().readValue(command, String[].class))
                : List.of("/bin/sh", "-c", command);
    }

    private static int runHealthcheck(List<String> command, String listenAddr) throws Exception {
        return runHealthcheck(command, listenAddr, List.of());
    }

    /**
     * Runs the healthcheck as in a container whose PID 1 was started with {@code serverArgs}: in a new PID namespace
     * (unshare, as an unprivileged user mapped to root) whose PID 1 is a shell holding those arguments on its
     * command line and running the check as its child.
     */
    private static int runHealthcheck(List<String> command, String listenAddr, List<String> serverArgs)
            throws Exception {
        if (!serverArgs.isEmpty()) {
            StringBuilder script = new StringBuilder();
            for (String word : command) {
                script.append('\'').append(word.replace("'", "'\\''")).append("' ");
            }
            // Not the check's own exit as the last command: a shell may exec that in place of itself (PID 1).
            script.append("; code=$?; exit $code");
            List<String> wrapped = new ArrayList<>(List.of("unshare", "--user", "--map-root-user", "--pid",
                    "--fork", "--mount-proc", "/bin/sh", "-c", script.toString(), "/opt/picotunnel/bin/picotunnel-server"));
            wrapped.addAll(serverArgs);
            command = wrapped;
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().keySet().removeIf(name -> !name.equals("PATH"));
        builder.environment().put(Setting.LISTEN_ADDR.envVar(), listenAddr);
        Process check = builder.start();
        if (!check.waitFor(30, TimeUnit.SECONDS)) {
            check.destroyForcibly();
            throw new AssertionError("the healthcheck did not end within 30 s for " + listenAddr);
        }
        return check.exitValue();
    }

    @Test
    void theServerImagesHealthcheckAsksTheManagementListenerWherePicotunnelListenAddrPutsIt() throws Exception {
        List<String> command = serverHealthcheckCommand();
        boolean ipv6 = java.net.NetworkInterface.networkInterfaces().flatMap(java.net.NetworkInterface::inetAddresses)
                .anyMatch(a -> a instanceof java.net.Inet6Address && a.isLoopbackAddress());
        List<PicoTunnelServer> servers = new ArrayList<>();
        try {
            for (String host : ipv6 ? List.of("127.0.0.1", "127.0.0.2", "[::1]") : List.of("127.0.0.1", "127.0.0.2")) {
                servers.add(PicoTunnelServer.start(ServerConfig.ephemeral(tmp.resolve("data-" + servers.size()),
                        Map.of(Setting.LISTEN_ADDR, host + ":0"))));
            }
            int onLoopback = servers.get(0).apiPort();
            int onSecondLoopback = servers.get(1).apiPort();
            for (String addr : List.of(":" + onLoopback, "0.0.0.0:" + onLoopback, "127.0.0.1:" + onLoopback,
                    "127.0.0.2:" + onSecondLoopback, " :" + onLoopback + " ")) {
                assertThat(runHealthcheck(command, addr)).as("healthy at %s", addr).isZero();
            }
            if (ipv6) {
                int onIpv6Loopback = servers.get(2).apiPort();
                for (String addr : List.of("[::1]:" + onIpv6Loopback, "[::]:" + onIpv6Loopback)) {
                    assertThat(runHealthcheck(command, addr)).as("healthy at %s", addr).isZero();
                }
            }
            assertThat(runHealthcheck(command, "127.0.0.2:" + onLoopback)).as("nothing listens there").isNotZero();
        } finally {
            servers.forEach(PicoTunnelServer::stop);
        }
        assertThat(runHealthcheck(command, "127.0.0.1:" + servers.get(0).apiPort())).as("stopped").isNotZero();
    }

    @Test
    void theServerImagesHealthcheckTakesTheListenAddrFlagOfTheContainersCommandOverTheVariable() throws Exception {
        Process probe = new ProcessBuilder("unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc",
                "true").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "unshare cannot make a PID namespace here (user namespaces disabled?)");
        List<String> command = serverHealthcheckCommand();
        PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(tmp.resolve("data"),
                Map.of(Setting.LISTEN_ADDR, "127.0.0.2:0")));
        try {
            String listening = "127.0.0.2:" + server.apiPort();
            String nothing = "127.0.0.3:" + server.apiPort();
            assertThat(runHealthcheck(command, nothing, List.of("--listen-addr", listening)))
                    .as("the flag wins over the variable").isZero();
            assertThat(runHealthcheck(command, nothing, List.of("--listen-addr=" + listening))).as("--listen-addr=")
                    .isZero();
            assertThat(runHealthcheck(command, nothing, List.of("--", "/opt/picotunnel/bin/picotunnel-server",
                    "--domain", "tunnel.example.com", "--listen-addr", nothing, "--listen-addr", listening)))
                    .as("docker run --init: docker-init's arguments, the last flag wins").isZero();
            assertThat(runHealthcheck(command, listening, List.of("--domain", "tunnel.example.com")))
                    .as("no flag: the variable").isZero();
            assertThat(runHealthcheck(command, listening, List.of("--listen-addr", nothing)))
                    .as("the flag names where nothing listens").isNotZero();
        } finally {
            server.stop();
        }
    }

    @Test
    void composeFileRunsOurImagesWithAVolumeAndTheTokenFromTheEnvironment() throws IOException {
        Map<String, Object> compose = new Yaml().load(Files.readString(ROOT.resolve("docker-compose.yml")));
        Map<String, Object> services = map(compose, "services");
        assertThat(services).containsOnlyKeys("server", "client");

        Map<String, Object> server = map(services, "server");
        assertThat(server.get("image")).isEqualTo("${PICOTUNNEL_IMAGE_PREFIX:-}picotunnel-server");
        assertThat(list(server, "volumes")).contains("picotunnel-data:/data");
        assertThat(list(server, "ports")).contains("8080:8080", "8443:8443", "80:80", "443:443");
        assertThat(map(compose, "volumes")).containsKey("picotunnel-data");

        Map<String, Object> client = map(services, "client");
        assertThat(client.get("image")).isEqualTo("${PICOTUNNEL_IMAGE_PREFIX:-}picotunnel-client");
        assertThat(client).doesNotContainKey("command");
        // on-failure[:N] would leave the client down after a reboot: Docker stops it there, and a stop exits with 0.
        assertThat(client.get("restart")).isEqualTo("unless-stopped");
        Map<String, Object> clientEnv = map(client, "environment");
        assertThat(clientEnv.get("PICOTUNNEL_TOKEN")).as("taken from the shell's environment").isEqualTo("${PICOTUNNEL_TOKEN:-}");
        assertThat(map(map(client, "depends_on"), "server").get("condition")).isEqualTo("service_healthy");
        // Docker's default of 10 s would kill the client just as its own grace for open streams ends.
        assertThat(seconds((String) client.get("stop_grace_period")))
                .isGreaterThan(io.picotunnel.client.config.ClientConfig.DEFAULT_SHUTDOWN_GRACE.toSeconds());
        assertThat(seconds((String) server.get("stop_grace_period")))
                .isGreaterThan(ServerConfig.load(Map.of(), Map.of()).shutdownGrace().toSeconds());
    }

    @Test
    void kubernetesManifestsHoldAStatefulSetWithAVolumeProbesOnHealthAServiceAndTheAdminSecret() throws IOException {
        Path dir = ROOT.resolve("examples/kubernetes");
        List<Map<String, Object>> documents = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                for (Object document : new Yaml().loadAll(Files.readString(file))) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> map = (Map<String, Object>) document;
                    assertThat(map).as(file.getFileName().toString()).containsKeys("apiVersion", "kind");
                    documents.add(map);
                }
            }
        }
        assertThat(documents).extracting(d -> d.get("kind"))
                .contains("StatefulSet", "Service", "Secret", "Deployment", "Kustomization");

        Map<String, Object> kustomization = kind(documents, "Kustomization").getFirst();
        assertThat(list(kustomization, "resources")).allMatch(resource -> Files.exists(dir.resolve((String) resource)));

        Map<String, Object> statefulSet = kind(documents, "StatefulSet").getFirst();
        Map<String, Object> spec = map(statefulSet, "spec");
        assertThat(spec.get("replicas")).as("SQLite: one writer").isEqualTo(1);
        Map<String, Object> claim = map(list(spec, "volumeClaimTemplates").getFirst());
        assertThat(map(claim, "metadata").get("name")).isEqualTo("data");
        Map<String, Object> pod = map(map(spec, "template"), "spec");
        assertThat(map(pod, "securityContext").get("runAsNonRoot")).isEqualTo(true);
        Map<String, Object> container = map(list(pod, "containers").getFirst());
        assertThat((String) container.get("image")).endsWith("picotunnel-server");
        for (String probe : List.of("readinessProbe", "livenessProbe")) {
            assertThat(map(map(container, probe), "httpGet").get("path")).as(probe).isEqualTo("/health");
        }
        assertThat(list(container, "volumeMounts")).extracting(m -> map(m).get("mountPath")).contains("/data");
        Map<String, Object> adminToken = list(container, "env").stream().map(DeploymentFilesTest::map)
                .filter(e -> "PICOTUNNEL_ADMIN_TOKEN".equals(e.get("name"))).findFirst().orElseThrow();
        String secretName = (String) map(map(adminToken, "valueFrom"), "secretKeyRef").get("name");
        assertThat(kind(documents, "Secret")).extracting(s -> map(s, "metadata").get("name")).contains(secretName);

        List<Map<String, Object>> services = kind(documents, "Service");
        assertThat(services).allSatisfy(service -> assertThat(map(map(service, "spec"), "selector"))
                .isEqualTo(map(map(map(spec, "template"), "metadata"), "labels")));
        assertThat(services).flatExtracting(s -> list(map(s, "spec"), "ports"))
                .extracting(p -> map(p).get("port")).contains(80, 443, 8443, 8080);

        Map<String, Object> client = map(list(map(map(map(kind(documents, "Deployment").getFirst(), "spec"), "template"),
                "spec"), "containers").getFirst());
        assertThat((String) client.get("image")).endsWith("picotunnel-client");
        assertThat(client).doesNotContainKeys("args", "command");
        assertThat(Files.readString(dir.resolve("README.md"))).contains("Ingress");
    }

    /**
     * The backup and restore steps of the Kubernetes README, run as written with /data a directory here: the commands
     * it runs in the StatefulSet's pod with kubectl exec (the backup while a server runs), the file kubectl cp takes
     * out and puts back, and the restore Job's arguments, on the volume the StatefulSet's claim template made.
     */
    @Test
    void theKubernetesBackupAndRestoreStepsRunAsWrittenOnTheStatefulSetsPodAndVolume() throws Exception {
        Path dir = ROOT.resolve("examples/kubernetes");
        String readme = Files.readString(dir.resolve("README.md"));
        Map<String, Object> statefulSet = map(new Yaml().load(Files.readString(dir.resolve("statefulset.yaml"))));
        Map<String, Object> job = map(new Yaml().load(Files.readString(dir.resolve("restore-job.yaml"))));
        String name = (String) map(statefulSet, "metadata").get("name");
        String pod = name + "-0";
        Map<String, Object> claimTemplate = map(list(map(statefulSet, "spec"), "volumeClaimTemplates").getFirst());
        Map<String, Object> serverPod = map(map(map(statefulSet, "spec"), "template"), "spec");
        Map<String, Object> jobPod = map(map(map(job, "spec"), "template"), "spec");
        assertThat(job.get("kind")).isEqualTo("Job");
        assertThat(list(jobPod, "volumes")).extracting(v -> map(v).get("persistentVolumeClaim")).filteredOn(c -> c != null)
                .extracting(c -> map(c).get("claimName"))
                .containsExactly(map(claimTemplate, "metadata").get("name") + "-" + pod);
        assertThat(map(jobPod, "securityContext")).isEqualTo(map(serverPod, "securityContext").entrySet().stream()
                .filter(e -> !e.getKey().equals("sysctls"))
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        Map<String, Object> restoreContainer = map(list(jobPod, "containers").getFirst());
        assertThat((String) restoreContainer.get("image")).endsWith("picotunnel-server");
        assertThat(list(restoreContainer, "volumeMounts")).extracting(m -> map(m).get("mountPath")).contains("/data");
        assertThat(readme).contains("kubectl apply -f restore-job.yaml", "job/" + map(job, "metadata").get("name"),
                "kubectl scale statefulset " + name + " --replicas=0", "kubectl scale statefulset " + name + " --replicas=1");

        List<List<String>> inThePod = readme.lines().map(String::strip)
                .filter(line -> line.startsWith("kubectl exec " + pod + " -- picotunnel-server "))
                .map(line -> List.of(line.replaceAll("\\s+#.*", "").substring(("kubectl exec " + pod
                        + " -- picotunnel-server ").length()).split(" "))).toList();
        assertThat(inThePod).extracting(List::getFirst).containsExactly("backup");
        List<String> backup = inThePod.getFirst();
        assertThat(readme).contains("kubectl cp " + pod + ":" + backup.getLast() + " ");
        List<String> restore = list(restoreContainer, "args").stream().map(String.class::cast).toList();
        assertThat(restore.getFirst()).isEqualTo("restore");
        assertThat(readme).contains(" " + pod + ":" + restore.getLast() + " ");

        Path data = tmp.resolve("data");
        PicoTunnelServer server = PicoTunnelServer.start(ServerConfig.ephemeral(data),
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            server.store().createTunnel("in-the-backup");
            String backedUp = runServerMain(onData(backup, data));
            assertThat(backedUp).contains("Backup written to ");
            server.store().createTunnel("after-the-backup");
        } finally {
            server.stop();
        }
        Files.copy(Path.of(onData(List.of(backup.getLast()), data).getFirst()),
                Path.of(onData(List.of(restore.getLast()), data).getFirst()));
        assertThat(runServerMain(onData(restore, data))).contains("Restored ");
        server = PicoTunnelServer.start(ServerConfig.ephemeral(data),
                new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            assertThat(server.store().tunnels()).extracting(io.picotunnel.server.store.Tunnel::name)
                    .containsExactly("in-the-backup");
        } finally {
            server.stop();
        }
    }

    /** {@code args} with /data, the volume's mount path, as {@code data}. */
    private static List<String> onData(List<String> args, Path data) {
        return args.stream().map(arg -> arg.equals("/data") || arg.startsWith("/data/")
                ? data + arg.substring("/data".length()) : arg).toList();
    }

    /** picotunnel-server with {@code args} in a JVM of its own, as in the container; its output, when it exits 0. */
    private static String runServerMain(List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ServerMain.class.getName()));
        command.addAll(args);
        Path output = Files.createTempFile("picotunnel-server", ".out");
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
            builder.environment().keySet().removeIf(key -> key.startsWith("PICOTUNNEL_"));
            Process process = builder.start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(args + " did not end within 60 s");
            }
            String said = Files.readString(output);
            assertThat(process.exitValue()).as("%s: %s", args, said).isZero();
            return said.lines().filter(line -> !line.startsWith("WARNING")).collect(java.util.stream.Collectors.joining("\n"));
        } finally {
            Files.delete(output);
        }
    }

    /**
     * The server serves wss on its tunnel port once it has (or ACME will get) a certificate for its domain, else
     * plain ws: a client with the other scheme, or a name the certificate does not hold, never connects.
     */
    @Test
    void clientsInTheExamplesUseTheSchemeTheirServerServesAndTheNameOfItsCertificate() throws IOException {
        Map<String, Object> services = map(new Yaml().<Map<String, Object>>load(
                Files.readString(ROOT.resolve("docker-compose.yml"))), "services");
        Map<String, Object> composeServer = map(services, "server");
        ServerConfig composeConfig = ServerConfig.load(Map.of(), strings(map(composeServer, "environment")));
        ServerAddress composeClient = ServerAddress.parse(
                (String) map(map(services, "client"), "environment").get("PICOTUNNEL_SERVER"));
        assertMatches("docker-compose.yml", composeConfig, composeClient);
        List<Object> names = new ArrayList<>(List.of("server"));
        if (composeServer.containsKey("networks")) {
            names.addAll(list(map(map(composeServer, "networks"), "default"), "aliases"));
        }
        assertThat(names).as("docker-compose.yml: the client's server name resolves to the server")
                .contains(composeClient.host());

        Path dir = ROOT.resolve("examples/kubernetes");
        Map<String, Object> statefulSet = new Yaml().load(Files.readString(dir.resolve("statefulset.yaml")));
        Map<String, Object> server = map(list(map(map(map(statefulSet, "spec"), "template"), "spec"), "containers")
                .getFirst());
        Map<String, Object> deployment = new Yaml().load(Files.readString(dir.resolve("client.yaml")));
        Map<String, Object> client = map(list(map(map(map(deployment, "spec"), "template"), "spec"), "containers")
                .getFirst());
        assertMatches("examples/kubernetes", ServerConfig.load(Map.of(), values(list(server, "env"))),
                ServerAddress.parse(values(list(client, "env")).get("PICOTUNNEL_SERVER")));
    }

    /**
     * The server names the ports it listens on in the UI's links and in https_redirect's Location: in the
     * Kubernetes example they must be the ones the LoadBalancer publishes, and a non-root pod may bind them below
     * 1024 only with the unprivileged-port sysctl.
     */
    @Test
    void kubernetesServerListensOnThePortsItsLoadBalancerPublishes() throws IOException {
        Path dir = ROOT.resolve("examples/kubernetes");
        Map<String, Object> pod = map(map(map(new Yaml().<Map<String, Object>>load(
                Files.readString(dir.resolve("statefulset.yaml"))), "spec"), "template"), "spec");
        Map<String, Object> server = map(list(pod, "containers").getFirst());
        ServerConfig config = ServerConfig.load(Map.of(), values(list(server, "env")));
        Map<String, Integer> containerPorts = new java.util.HashMap<>();
        for (Object port : list(server, "ports")) {
            containerPorts.put((String) map(port).get("name"), (Integer) map(port).get("containerPort"));
        }
        assertThat(containerPorts).containsEntry("http", config.httpAddr().port())
                .containsEntry("https", config.httpsAddr().port());

        List<Map<String, Object>> services = new ArrayList<>();
        for (Object document : new Yaml().loadAll(Files.readString(dir.resolve("service.yaml")))) {
            @SuppressWarnings("unchecked")
            Map<String, Object> service = (Map<String, Object>) document;
            services.add(service);
        }
        Map<String, Object> publicService = services.stream()
                .filter(service -> "LoadBalancer".equals(map(service, "spec").get("type"))).findFirst().orElseThrow();
        for (Object port : list(map(publicService, "spec"), "ports")) {
            Object target = map(port).get("targetPort");
            Integer listening = containerPorts.get(target);
            if ("http".equals(target) || "https".equals(target)) {
                assertThat(map(port).get("port")).as("published port of " + target).isEqualTo(listening);
            }
        }
        if (config.httpAddr().port() < 1024 || config.httpsAddr().port() < 1024) {
            assertThat(list(map(pod, "securityContext"), "sysctls")).extracting(entry -> map(entry).get("name"),
                    entry -> map(entry).get("value"))
                    .contains(org.assertj.core.groups.Tuple.tuple("net.ipv4.ip_unprivileged_port_start", "0"));
        }
    }

    /** A misspelt variable in a deployment file or a doc is silently ignored by the programs: none may be unknown. */
    @Test
    void everyPicotunnelVariableTheDeploymentFilesAndDocsNameIsOneTheProgramsRead() throws Exception {
        Set<String> known = new java.util.HashSet<>();
        for (io.picotunnel.server.config.Setting setting : io.picotunnel.server.config.Setting.values()) {
            known.add(setting.envVar());
        }
        for (io.picotunnel.client.config.Setting setting : io.picotunnel.client.config.Setting.values()) {
            known.add(setting.envVar());
        }
        // Read by the server's LogSettings and by the launcher.
        known.addAll(List.of("PICOTUNNEL_LOG_FORMAT", "PICOTUNNEL_LOG_LEVEL", "PICOTUNNEL_HOME"));
        assertThat(Files.readString(ROOT.resolve("scripts/launcher.sh"))).contains("${PICOTUNNEL_HOME:-}");

        java.util.regex.Pattern variable = java.util.regex.Pattern.compile("PICOTUNNEL_[A-Z0-9_]+");
        List<Path> files = new ArrayList<>(List.of(ROOT.resolve("README.md"), ROOT.resolve("docker-compose.yml")));
        for (String dir : List.of("docker", "examples", "packaging", "docs")) {
            try (Stream<Path> tree = Files.walk(ROOT.resolve(dir))) {
                tree.filter(Files::isRegularFile).forEach(files::add);
            }
        }
        List<String> unknown = new ArrayList<>();
        for (Path file : files) {
            java.util.regex.Matcher matcher = variable.matcher(Files.readString(file));
            while (matcher.find()) {
                String name = matcher.group();
                // "PICOTUNNEL_OIDC_*" in prose names a family.
                boolean family = name.endsWith("_") && known.stream().anyMatch(k -> k.startsWith(name));
                if (!known.contains(name) && !family) {
                    unknown.add(ROOT.relativize(file) + ": " + name);
                }
            }
        }
        assertThat(unknown).isEmpty();
        assertThat(files).hasSizeGreaterThan(10);
    }

    private static void assertMatches(String where, ServerConfig server, ServerAddress client) {
        boolean wss = server.domain() != null && (server.acme().enabled() || server.tlsFiles() != null);
        assertThat(client.tls()).as("%s: the server's tunnel endpoint serves %s, the client dials %s", where,
                wss ? "wss" : "ws", client).isEqualTo(wss);
        if (wss) {
            assertThat(client.host()).as("%s: the name the certificate is for", where).isEqualTo(server.domain());
        }
        assertThat(client.port()).as(where).isEqualTo(server.tunnelAddr().port());
    }

    private static long seconds(String composeDuration) {
        assertThat(composeDuration).as("a stop_grace_period in seconds").matches("\\d+s");
        return Long.parseLong(composeDuration.substring(0, composeDuration.length() - 1));
    }

    private static Map<String, String> strings(Map<String, Object> environment) {
        Map<String, String> env = new java.util.HashMap<>();
        environment.forEach((name, value) -> env.put(name, String.valueOf(value)));
        return env;
    }

    /** The Kubernetes env entries with a literal value. */
    private static Map<String, String> values(List<Object> entries) {
        Map<String, String> env = new java.util.HashMap<>();
        for (Object entry : entries) {
            if (map(entry).get("value") != null) {
                env.put((String) map(entry).get("name"), String.valueOf(map(entry).get("value")));
            }
        }
        return env;
    }

    @Test
    void systemdUnitsPassSystemdAnalyzeVerifyAndAreHardened() throws Exception {
        Path root = tmp.resolve("root");
        Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
        Path bin = Files.createDirectories(root.resolve("opt/picotunnel/bin"));
        copyTree(Path.of("/usr/lib/systemd/system"), Files.createDirectories(root.resolve("usr/lib/systemd")).resolve("system"));
        List<String> command = new ArrayList<>(List.of(systemdAnalyze(), "verify", "--root=" + root));
        for (String name : List.of("picotunnel-server", "picotunnel-client")) {
            Files.copy(ROOT.resolve("scripts/launcher.sh"), bin.resolve(name));
            Files.setPosixFilePermissions(bin.resolve(name), PosixFilePermissions.fromString("rwxr-xr-x"));
            Path unit = units.resolve(name + ".service");
            Files.copy(ROOT.resolve("packaging/systemd/" + name + ".service"), unit);
            command.add(unit.toString());
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).as("no warning about our units").doesNotContain("picotunnel");

        String server = Files.readString(ROOT.resolve("packaging/systemd/picotunnel-server.service"));
        assertThat(server).contains("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=picotunnel",
                "NoNewPrivileges=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "Environment=PICOTUNNEL_DATA_DIR=/var/lib/picotunnel",
                "ExecStart=/opt/picotunnel/bin/picotunnel-server\n",
                "RestartPreventExitStatus=" + ServerMain.EXIT_USAGE + " " + ServerMain.EXIT_DATA_UNUSABLE + "\n");
        String client = Files.readString(ROOT.resolve("packaging/systemd/picotunnel-client.service"));
        assertThat(client).contains("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
                "EnvironmentFile=/etc/picotunnel/client.env",
                "RestartPreventExitStatus=" + ClientMain.EXIT_USAGE + " " + ClientMain.EXIT_TOKEN_REJECTED + "\n",
                "ExecStart=/opt/picotunnel/bin/picotunnel-client\n");
        assertThat(client).as("the token is not on the command line").doesNotContain("--token");
        // Both exit 0 on SIGTERM once their hook is installed; a SIGTERM in the JVM's first moment still ends it with 143.
        assertThat(List.of(server, client)).as("a SIGTERM before the hook is a stop, not a failure")
                .allMatch(unit -> unit.contains("\nSuccessExitStatus=143\n"));
    }

    @Test
    void theUnitTheUiWritesForAClientRunsItAsThePackagedUnitDoes() throws IOException {
        // The UI's systemd snippet restarted a client whose settings were wrong (exit 2) every 5 s and lacked the
        // unit's sandboxing, long after the packaged unit had both. Each [Service] line of the packaged unit must be
        // one of the snippet's lines (its EnvironmentFile names the tunnel's own file).
        String packaged = Files.readString(ROOT.resolve("packaging/systemd/picotunnel-client.service"));
        String snippet = Files.readString(ROOT.resolve("web/src/components/ClientCommands.tsx"));
        List<String> directives = packaged.substring(packaged.indexOf("[Service]"), packaged.indexOf("[Install]"))
                .lines().filter(line -> line.matches("[A-Za-z]+=.*") && !line.startsWith("EnvironmentFile=")).toList();
        assertThat(directives).contains("RestartPreventExitStatus=2 3", "ProtectSystem=strict");
        for (String directive : directives) {
            assertThat(snippet).as("the UI's unit has " + directive).contains("'" + directive + "',");
        }
        // And nothing the packaged unit has dropped since.
        java.util.regex.Matcher quoted = java.util.regex.Pattern.compile("'([A-Za-z]+=[^']*)',")
                .matcher(snippet.substring(snippet.indexOf("'[Service]'"), snippet.indexOf("'[Install]'")));
        List<String> snippetDirectives = new ArrayList<>();
        while (quoted.find()) {
            snippetDirectives.add(quoted.group(1));
        }
        assertThat(snippetDirectives).as("the UI's [Service] lines").containsExactlyElementsOf(directives);
    }

    /**
     * The UI's docker run and compose commands for a client had Docker's stop timeout of 10 s, which kills the client
     * just as its own grace for open streams (10 s) ends, as the compose file and the units already avoid.
     */
    @Test
    void theUisDockerCommandsGiveAClientLongerToStopThanItsGracePeriod() throws IOException {
        String snippet = Files.readString(ROOT.resolve("web/src/components/ClientCommands.tsx"));
        long grace = io.picotunnel.client.config.ClientConfig.DEFAULT_SHUTDOWN_GRACE.toSeconds();
        java.util.regex.Matcher run = java.util.regex.Pattern.compile("--stop-timeout (\\d+) ").matcher(snippet);
        assertThat(run.find()).as("docker run has --stop-timeout").isTrue();
        assertThat(Long.parseLong(run.group(1))).isGreaterThan(grace);
        java.util.regex.Matcher compose = java.util.regex.Pattern.compile("'    stop_grace_period: (\\d+s)',")
                .matcher(snippet);
        assertThat(compose.find()).as("the compose snippet has stop_grace_period").isTrue();
        assertThat(seconds(compose.group(1))).isGreaterThan(grace);
    }

    @Test
    void systemdAnalyzeVerifyReportsAMistakeInAUnit() throws Exception {
        Path root = tmp.resolve("root");
        Path units = Files.createDirectories(root.resolve("etc/systemd/system"));
        copyTree(Path.of("/usr/lib/systemd/system"), Files.createDirectories(root.resolve("usr/lib/systemd")).resolve("system"));
        Path unit = units.resolve("picotunnel-server.service");
        Files.writeString(unit, Files.readString(ROOT.resolve("packaging/systemd/picotunnel-server.service"))
                .replace("ProtectSystem=strict", "ProtectSytem=strict"));
        Process process = new ProcessBuilder(systemdAnalyze(), "verify", "--root=" + root, unit.toString())
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(output).as("the check the test above relies on catches a misspelt key and a missing executable")
                .contains("ProtectSytem").contains("picotunnel-server");
    }

    @Test
    void imagesAreNamedPicotunnelServerAndPicotunnelClientEverywhere() throws IOException {
        List<Path> files = List.of(ROOT.resolve("README.md"), ROOT.resolve("Makefile"), ROOT.resolve("docker-compose.yml"),
                ROOT.resolve("web/src/components/ClientCommands.tsx"), ROOT.resolve("examples/kubernetes/statefulset.yaml"),
                ROOT.resolve("examples/kubernetes/client.yaml"));
        for (Path file : files) {
            String text = Files.readString(file);
            assertThat(text).as(file.toString()).doesNotContain("ghcr.io").containsAnyOf("picotunnel-server", "picotunnel-client");
        }
        assertThat(Files.readString(ROOT.resolve("Makefile")))
                .contains("-t picotunnel-server .", "-t picotunnel-client .");
    }

    private static String systemdAnalyze() {
        for (String candidate : List.of("/usr/bin/systemd-analyze", "/bin/systemd-analyze")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        throw new AssertionError("systemd-analyze is missing: run make setup (scripts/install-deps.sh installs systemd)");
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path path : paths.toList()) {
                Path target = to.resolve(from.relativize(path).toString());
                if (Files.isSymbolicLink(path)) {
                    Files.createSymbolicLink(target, Files.readSymbolicLink(path));
                } else if (Files.isDirectory(path)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(path, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
    }

    private static List<Map<String, Object>> kind(List<Map<String, Object>> documents, String kind) {
        return documents.stream().filter(d -> kind.equals(d.get("kind"))).toList();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object value) {
        assertThat(value).isInstanceOf(Map.class);
        return (Map<String, Object>) value;
    }

    static Map<String, Object> map(Map<String, Object> parent, String key) {
        assertThat(parent).containsKey(key);
        return map(parent.get(key));
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> parent, String key) {
        assertThat(parent).containsKey(key);
        assertThat(parent.get(key)).isInstanceOf(List.class);
        return (List<Object>) parent.get(key);
    }
}
