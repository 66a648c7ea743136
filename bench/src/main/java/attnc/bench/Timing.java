package attnc.bench;

import java.util.Arrays;
import java.util.concurrent.Callable;

/** Wall-clock timing: some untimed warm-up runs, then the median of timed repeats. */
final class Timing {
    private Timing() {}

    static double median(int warmup, int reps, Runnable body) {
        for (int i = 0; i < warmup; i++) body.run();
        double[] seconds = new double[reps];
        for (int i = 0; i < reps; i++) {
            long start = System.nanoTime();
            body.run();
            seconds[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(seconds);
        return seconds[reps / 2];
    }

    /**
     * Runs the bodies round-robin until each has run {@code calls} times and {@code seconds} have
     * passed: C2 compiles a generated kernel's hot methods over seconds, and three calls of a
     * 50 ms kernel left its compilation inside the timed repeats (causal's backward on 16 cores:
     * 78.2 ms a call timed first, 48.5 ms for the same kernel timed right after).
     */
    static void warm(double seconds, int calls, Runnable... bodies) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        for (int done = 0; done < calls || System.nanoTime() < end; done++) {
            for (Runnable body : bodies) body.run();
        }
    }

    static <T> T unchecked(Callable<T> call) {
        try {
            return call.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
