package io.picotunnel.server.net;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class PathNormalizerTest {

    @Test
    void aPathSaidNormalIsGivenBackAsItIsAndThoseNormalizeChangesAreNotSaidNormal() {
        List<String> normal = List.of("/", "/a", "/a/b/", "/a//b", "/index.html", "/.well-known/x", "/a/..b", "/a/b..",
                "/...", "/a/.../b", "/a.", "/~user/a-b_c", "/a:b@c!$&'()*+,;=");
        for (String path : normal) {
            assertThat(PathNormalizer.isNormal(path, path.length())).as(path).isTrue();
            assertThat(PathNormalizer.normalize(path)).as(path).isEqualTo(path);
        }
        List<String> changed = List.of("/.", "/..", "/a/.", "/a/..", "/a/./b", "/a/../b", "/./", "/../a", "/%61",
                "/a b", "/{id}", "/caf\u00e9", "/a\"b", "/a<b>", "/a^b", "/a`b", "/a\u007fb");
        for (String path : changed) {
            assertThat(PathNormalizer.isNormal(path, path.length())).as(path).isFalse();
            assertThat(PathNormalizer.normalize(path)).as(path).isNotEqualTo(path);
        }
        // Not said normal, though it is: a percent-encoding is read only by normalize.
        assertThat(PathNormalizer.isNormal("/%2F", 4)).isFalse();
        assertThat(PathNormalizer.normalize("/%2F")).isEqualTo("/%2F");
        assertThat(PathNormalizer.isNormal("", 0)).isFalse();
        assertThat(PathNormalizer.isNormal("a/b", 3)).isFalse();
    }

    @Test
    void onlyTheFirstEndCharactersAreRead() {
        assertThat(PathNormalizer.isNormal("/a?x=/../{}", 2)).isTrue();
        assertThat(PathNormalizer.isNormal("/a/..?x", 5)).isFalse();
        assertThat(PathNormalizer.isNormal("/a/.?x", 4)).isFalse();
        assertThat(PathNormalizer.isNormal("/a/.b?x", 5)).isTrue();
    }

    @Test
    void aQueryIsSaidEncodedWhenEncodeQueryOctetsWouldGiveItBackAsItIs() {
        String target = "/a?q=x y&r={}";
        assertThat(PathNormalizer.isQueryEncodedFrom(target, 2)).isTrue();
        assertThat(PathNormalizer.encodeQueryOctets(target.substring(2))).isEqualTo(target.substring(2));
        String octets = "/a?q=caf\u00c3\u00a9";
        assertThat(PathNormalizer.isQueryEncodedFrom(octets, 2)).isFalse();
        assertThat(PathNormalizer.encodeQueryOctets(octets.substring(2))).isEqualTo("?q=caf%C3%A9");
        assertThat(PathNormalizer.isQueryEncodedFrom("/a", 2)).isTrue();
        assertThat(PathNormalizer.isQueryEncodedFrom("/a?\u007f", 2)).isFalse();
    }
}
