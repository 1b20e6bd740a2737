package io.picotunnel.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class DataDirectoryTest {

    @TempDir
    Path dir;

    @Test
    void aNewDirectoryIsMadeReadableByItsOwnerOnly() throws Exception {
        Path data = DataDirectory.prepare(dir.resolve("data"));

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).isEqualTo("rwx------");
    }

    /**
     * A Kubernetes volume with {@code fsGroup}: owned by root, writable through the group the server runs in
     * (setgid). Changing its mode takes its owner; the server (uid 10001) got "Operation not permitted" and did not
     * start, so the StatefulSet of examples/kubernetes crash-looped. (Shown here as root, who may change any mode: the
     * directory must be left as it is.)
     */
    @Test
    void aDirectoryOwnedBySomeoneElseAndWritableThroughItsGroupIsUsedAsItIs() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to give the directory away");
        Path data = Files.createDirectory(dir.resolve("volume"));
        UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
        PosixFileAttributeView view = Files.getFileAttributeView(data, PosixFileAttributeView.class);
        view.setOwner(users.lookupPrincipalByName("10001"));
        view.setGroup(users.lookupPrincipalByGroupName("10001"));
        Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxrwx---"));

        assertThat(DataDirectory.prepare(data)).isEqualTo(data);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data))).isEqualTo("rwxrwx---");
        assertThat(view.readAttributes().owner().getName()).isEqualTo("10001");
    }
}
