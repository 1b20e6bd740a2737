package io.picotunnel.server.api;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a bash script into words as the shell quotes them, without expanding anything: {@code '...'} and
 * {@code "..."} hold spaces, a {@code #} starting a word comments out the rest of the line, and the operators
 * {@code | || & && ;} and every line end become words of their own ({@code ;} for a line end).
 */
final class ShellWords {

    private ShellWords() {
    }

    static List<String> split(String script) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < script.length(); i++) {
            char c = script.charAt(i);
            if (c == '\'' || c == '"') {
                int close = script.indexOf(c, i + 1);
                if (close < 0) {
                    throw new AssertionError("an unclosed " + c + " in: " + script);
                }
                word.append(script, i + 1, close);
                inWord = true;
                i = close;
            } else if (c == '#' && !inWord) {
                int newline = script.indexOf('\n', i);
                i = (newline < 0 ? script.length() : newline) - 1;
            } else if (c == ' ' || c == '\t' || c == '\n' || c == '|' || c == '&' || c == ';') {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                if (c == '\n') {
                    words.add(";");
                } else if (c == '|' || c == '&') {
                    boolean doubled = i + 1 < script.length() && script.charAt(i + 1) == c;
                    words.add(doubled ? "" + c + c : "" + c);
                    i += doubled ? 1 : 0;
                } else if (c == ';') {
                    words.add(";");
                }
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }
}
