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
