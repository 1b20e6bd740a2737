package io.picotunnel.server.tls;

import ch.qos.logback.classic.Level;
import io.picotunnel.testkit.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A certificate file named outside ASCII in a server whose JVM spells file names in ASCII (a POSIX or C locale, common
 * in containers): the name cannot be spelt back, so the pair is skipped with a WARN naming it, and the others are
 * loaded. Run in a JVM of its own, as the file name encoding is fixed when a JVM starts.
 */
class CertificateFileNamesInAnAsciiLocaleTest {

    @TempDir
    Path certs;

    @Test
    void aPairNamedOutsideTheLocalesEncodingIsSkippedWithOneWarnAndTheOthersLoad() throws Exception {
        TestCertificates ca = new TestCertificates();
        TestCertificates.write(ca.issue("good.test"), certs, "good.test");
        TestCertificates.write(ca.issue("xn--bcher-kva.test"), certs, "other.test");
        // named by its bytes (UTF-8 "bücher.test"), whatever this JVM's own file name encoding is
        run(List.of("sh", "-c", "cd \"$1\" && mv other.test.crt \"$(printf 'b\\303\\274cher.test.crt')\""
                + " && mv other.test.key \"$(printf 'b\\303\\274cher.test.key')\"", "sh", certs.toString()));

        List<String> lines = run(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), getClass().getName(), certs.toString()));

        assertThat(lines).as("the child JVM spells file names in ASCII").contains("jnu ANSI_X3.4-1968");
        assertThat(lines).contains("good.test loaded", "scans ended");
        assertThat(lines.stream().filter(line -> line.startsWith("WARN "))).singleElement().asString()
                .startsWith("WARN certificate file " + certs.resolve("b"))
                .contains("cher.test.crt is skipped: its name cannot be spelt in this system's file name encoding");
    }

    private static List<String> run(List<String> command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().keySet().removeIf(name -> name.startsWith("LC_") || name.endsWith("JAVA_OPTIONS")
                || name.equals("JAVA_TOOL_OPTIONS"));
        builder.environment().put("LC_ALL", "C");
        builder.environment().put("LANG", "C");
        Process process = builder.start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("%s ends", command).isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().toList();
    }

    /** In the child JVM: two scans of the directory {@code args[0]}, printing the WARNs and what was loaded. */
    public static void main(String[] args) {
        System.out.println("jnu " + System.getProperty("sun.jnu.encoding"));
        CertificateStore store = new CertificateStore();
        try (LogCapture log = new LogCapture(CertificateDirectory.class, Level.WARN);
             CertificateDirectory directory = new CertificateDirectory(Path.of(args[0]), store)) {
            directory.scan();
            directory.scan();
            System.out.println("scans ended");
            log.messages(Level.WARN).forEach(line -> System.out.println("WARN " + line));
        } catch (RuntimeException e) {
            e.printStackTrace(System.out);
        }
        if (store.select("good.test").isPresent()) {
            System.out.println("good.test loaded");
        }
    }
}
