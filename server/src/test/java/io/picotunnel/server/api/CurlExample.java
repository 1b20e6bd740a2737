package io.picotunnel.server.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A curl command as a Markdown document's bash blocks show it, read with the shell's quoting: its method, URL,
 * headers and body, and the fields the {@code jq} filters of its block read from its answer ({@code .id}).
 */
record CurlExample(String line, String method, String url, Map<String, String> headers, String body,
                   List<String> jqFields) {

    private static final Pattern BASH_BLOCK = Pattern.compile("(?ms)^```bash\\s*$(.*?)^```\\s*$");
    private static final Pattern JQ_FIELD = Pattern.compile("^\\.([a-z_][a-z0-9_]*)$");
    private static final List<String> SEPARATORS = List.of("|", ";", "&&", "||", "&");

    /** Every curl command of the document's bash blocks, in order. */
    static List<CurlExample> parseAll(String markdown) {
        List<CurlExample> examples = new ArrayList<>();
        Matcher block = BASH_BLOCK.matcher(markdown);
        while (block.find()) {
            String script = block.group(1).replace("\\\n", " ");
            List<String> jqFields = jqFields(script);
            List<String> words = ShellWords.split(script);
            for (int at = words.indexOf("curl"); at >= 0; at = indexOf(words, "curl", at + 1)) {
                List<String> args = words.subList(at + 1, end(words, at + 1));
                examples.add(parse("curl " + String.join(" ", args), args, jqFields));
            }
        }
        return examples;
    }

    private static CurlExample parse(String line, List<String> args, List<String> jqFields) {
        String method = null;
        String url = null;
        String body = null;
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            switch (arg) {
                case "-X", "--request" -> method = args.get(++i);
                case "-H", "--header" -> {
                    String header = args.get(++i);
                    int colon = header.indexOf(':');
                    headers.put(header.substring(0, colon).strip(), header.substring(colon + 1).strip());
                }
                case "-d", "--data", "--data-raw" -> body = args.get(++i);
                case "--retry", "--retry-delay", "--retry-max-time", "--max-time", "-m" -> i++;
                default -> {
                    if (arg.startsWith("http://") || arg.startsWith("https://")) {
                        url = arg;
                    } else if (!arg.startsWith("-")) {
                        throw new AssertionError("a curl argument this test does not know: " + arg + " in " + line);
                    }
                }
            }
        }
        if (url == null) {
            throw new AssertionError("a curl command without a URL: " + line);
        }
        if (method == null) {
            method = body == null ? "GET" : "POST";
        }
        return new CurlExample(line, method, url, headers, body, jqFields);
    }

    /** The fields read by {@code jq .field} (with any flags, from a pipe or a file) in a block. */
    private static List<String> jqFields(String script) {
        List<String> fields = new ArrayList<>();
        List<String> words = ShellWords.split(script.replaceAll("\\$\\(|\\)", " ; "));
        for (int at = words.indexOf("jq"); at >= 0; at = indexOf(words, "jq", at + 1)) {
            for (String word : words.subList(at + 1, end(words, at + 1))) {
                Matcher field = JQ_FIELD.matcher(word);
                if (field.matches()) {
                    fields.add(field.group(1));
                }
            }
        }
        return fields;
    }

    private static int end(List<String> words, int from) {
        for (int i = from; i < words.size(); i++) {
            if (SEPARATORS.contains(words.get(i))) {
                return i;
            }
        }
        return words.size();
    }

    private static int indexOf(List<String> words, String word, int from) {
        for (int i = from; i < words.size(); i++) {
            if (words.get(i).equals(word)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return line;
    }
}
