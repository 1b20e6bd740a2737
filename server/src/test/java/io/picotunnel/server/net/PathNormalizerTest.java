package io.picotunnel.server.net;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;

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

    /**
     * Characters that decide the rules of {@link PathNormalizer#normalize} and
     * {@link PathNormalizer#encodeQueryOctets}: separators, dots, percent-encodings (valid, invalid, of unreserved and
     * reserved octets, in both cases), what browsers encode, the last ASCII character and DEL, octets above ASCII, a
     * character above U+00FF and a surrogate pair, controls, and plain letters.
     */
    private static final String[] PIECES = {"/", "/", "/", ".", ".", "..", "%", "%2", "%2F", "%2f", "%61", "%7E", "%7e",
        "%GG", "%00", "%25", "a", "A", "z", "0", "-", "_", "~", ":", "@", "!", "$", "&", "'", "(", "*", "+", ",", ";",
        "=", " ", "\"", "<", ">", "^", "`", "{", "}", "|", "\\", "[", "]", "?", "?", "#", "\u007e", "\u007f",
        "\u0080", "\u00e9", "\u00ff", "\u20ac", "\ud83d\ude00", "\u0000", "\u001f", "\t"};

    /** The targets the edge cases begin with: one of the pieces alone, and what each rule turns on. */
    private static final List<String> EDGE_CASES = List.of("", "/", "//", "/.", "/..", "/./", "/../", "/...", "/.a",
            "/a.", "/a/.", "/a/..", "/a/.?x", "/a/..?", "/?", "/?/..", "/?\u007f", "/?\u007e", "/%", "/%2", "/%2F",
            "/%2f", "/%61", "a", ".", "..", "?", "#", "/#", "/a#b", "/\u007f", "/\u007e", "/\u00ff", "/\u20ac",
            "/\ud83d\ude00", "/\ud83d", "/ ", "/{}", "\u00e9");

    /**
     * The fast checks say of a target only what {@link PathNormalizer#normalize} and
     * {@link PathNormalizer#encodeQueryOctets} do to it, so the two cannot drift apart: RequestSanitizer passes a
     * target on as it came when both say so, and the slow path would have normalized its path and encoded its query.
     * Over the edge cases and 200,000 targets made of {@link #PIECES} from a fixed seed: a path said normal is given
     * back as it is; one that starts with {@code /} and holds no percent-encoding is said normal exactly when it is
     * given back so (a {@code %} is only read by normalize); a query is said encoded exactly when it is given back so.
     */
    @Test
    void theFastChecksAgreeWithNormalizeAndEncodeQueryOctetsOnEdgeCasesAndRandomTargets() {
        List<String> targets = new ArrayList<>(EDGE_CASES);
        for (String piece : PIECES) {
            targets.add(piece);
            targets.add("/" + piece);
            targets.add("/a" + piece + "/b");
        }
        long seed = 0x5eed_6L;
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < 200_000; i++) {
            StringBuilder target = new StringBuilder(random.nextInt(4) == 0 ? "" : "/");
            int pieces = random.nextInt(1, 10);
            for (int p = 0; p < pieces; p++) {
                target.append(PIECES[random.nextInt(PIECES.length)]);
            }
            targets.add(target.toString());
        }
        for (String target : targets) {
            int end = target.indexOf('?') < 0 ? target.length() : target.indexOf('?');
            String path = target.substring(0, end);
            String query = target.substring(end);
            String normalized = PathNormalizer.normalize(path);
            // Described only on a failure: a message built for each of the 200,000 targets cost more than the checks
            Supplier<String> why = () -> "target '" + target + "' (seed " + seed + ")";
            boolean saidNormal = PathNormalizer.isNormal(target, end);
            if (saidNormal) {
                assertThat(normalized).as(() -> "a path said normal, normalized, of " + why.get()).isEqualTo(path);
            }
            if (path.startsWith("/") && path.indexOf('%') < 0) {
                assertThat(saidNormal).as(() -> "said normal, of " + why.get() + " normalized to '" + normalized + "'")
                        .isEqualTo(path.equals(normalized));
            }
            assertThat(PathNormalizer.isQueryEncodedFrom(target, end)).as(() -> "query said encoded, of " + why.get())
                    .isEqualTo(PathNormalizer.encodeQueryOctets(query).equals(query));
        }
    }
}
