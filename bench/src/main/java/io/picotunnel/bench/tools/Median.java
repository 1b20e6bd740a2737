package io.picotunnel.bench.tools;

import java.util.List;

/** The median of a bench path's runs, or of its rounds' own ratios. */
public final class Median {

    private Median() {
    }

    /** The middle value, or the mean of the middle two of an even count. */
    public static double of(List<Double> values) {
        if (values.isEmpty()) {
            throw new IllegalArgumentException("no values");
        }
        List<Double> sorted = values.stream().sorted().toList();
        int middle = sorted.size() / 2;
        return sorted.size() % 2 == 1 ? sorted.get(middle) : (sorted.get(middle - 1) + sorted.get(middle)) / 2;
    }
}
