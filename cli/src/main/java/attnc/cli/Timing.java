package attnc.cli;

import java.io.PrintWriter;
import java.util.Arrays;

/** Timed runs after warm-up: the median is what the report leads with, min and max its spread. */
record Timing(int warmups, int runs, long medianNanos, long minNanos, long maxNanos) {
    /**
     * The JIT compiles a generated kernel's loops only after many calls (the first call of a
     * Vector API kernel runs interpreted, a hundred times slower): warming up until the times
     * settle covers small launches, and the time cap large ones.
     */
    static final int MIN_WARMUPS = 2, MAX_WARMUPS = 200, STEADY_RUNS = 3, MAX_WARMUP_SECONDS = 30;
    /** A small kernel can look steady while still interpreted: a second of calls gets the JIT to it. */
    static final long MIN_WARMUP_NANOS = 1_000_000_000L;

    static Timing of(int warmups, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        return new Timing(warmups, sorted.length, sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]);
    }

    /**
     * Warms {@code run} up ({@code warmups} times, or when null until steady, see above), then
     * times it {@code repeats} times; progress goes to {@code err} when it takes long.
     */
    static Timing measure(Runnable run, Integer warmups, int repeats, PrintWriter err, String label) {
        Progress progress = new Progress(err, "warming up " + label, warmups == null ? MIN_WARMUPS : warmups);
        int warm = 0, steady = 0;
        long warmStart = System.nanoTime(), fastest = Long.MAX_VALUE;
        while (warmups != null ? warm < warmups : warm < MIN_WARMUPS || (steady < STEADY_RUNS || System.nanoTime() - warmStart < MIN_WARMUP_NANOS)
                && warm < MAX_WARMUPS && System.nanoTime() - warmStart < MAX_WARMUP_SECONDS * 1_000_000_000L) {
            long took = timed(run);
            // Steady: neither much slower nor much faster than the fastest run before it.
            steady = fastest != Long.MAX_VALUE && took <= fastest * 1.25 && took * 1.25 >= fastest ? steady + 1 : 0;
            fastest = Math.min(fastest, took);
            progress.update(++warm);
        }
        progress.done();
        progress = new Progress(err, "timing " + label, repeats);
        long[] nanos = new long[repeats];
        for (int i = 0; i < repeats; i++) {
            nanos[i] = timed(run);
            progress.update(i + 1);
        }
        progress.done();
        return of(warm, nanos);
    }

    private static long timed(Runnable run) {
        long start = System.nanoTime();
        run.run();
        return System.nanoTime() - start;
    }
}
