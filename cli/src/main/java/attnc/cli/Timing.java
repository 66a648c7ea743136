package attnc.cli;

import java.util.Arrays;

/** Timed runs after warm-up: the median is what the report leads with, min and max its spread. */
record Timing(int warmups, int runs, long medianNanos, long minNanos, long maxNanos) {
    static Timing of(int warmups, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return new Timing(warmups, sorted.length, sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]);
    }
}
