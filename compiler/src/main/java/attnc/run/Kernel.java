package attnc.run;

import attnc.ir.Pattern;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.Set;

/**
 * A compiled pattern, ready to run. Every backend's kernels have this call shape, so a user
 * switches backend by one argument. {@link #forward} checks the problem against the pattern
 * ({@link Binding#of}) before it computes anything.
 */
public interface Kernel extends AutoCloseable {

    Pattern pattern();

    Result forward(Problem problem);

    /**
     * Every gradient the pattern has ({@link Wrt#all}): dq, dk, dv and those of the float inputs it
     * reads outside its mask and selection. {@code forward} is what {@link #forward} returned for
     * this problem, {@code dOut} the gradient of the loss with respect to its output [B, H, Nq, Dv].
     */
    default Gradients backward(Problem problem, Result forward, Tensor dOut) {
        return backward(problem, forward, dOut, Wrt.all(pattern()));
    }

    /**
     * The gradients in {@code wanted} only. Arguments are checked ({@link BackwardLaunch#of})
     * before anything is computed. Backends without a backward kernel refuse with one line.
     */
    default Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        throw new UnsupportedOperationException("this backend has no backward pass yet (" + getClass().getSimpleName()
                + " for pattern '" + pattern().name() + "'); the reference backend has one");
    }

    /**
     * Median milliseconds of one launch, after {@code warmups} untimed ones: what the tuner
     * compares. By default each run is a whole {@link #forward} on fresh inputs; a kernel whose
     * launch moves data to a device overrides this to time the device work on resident data,
     * since host transfers would swamp the differences between its configurations.
     */
    default double medianMillis(java.util.function.Supplier<Problem> freshInputs, int warmups, int repeats) {
        for (int i = 0; i < warmups; i++) forward(freshInputs.get());
        double[] samples = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            Problem fresh = freshInputs.get();
            long start = System.nanoTime();
            forward(fresh);
            samples[i] = (System.nanoTime() - start) / 1e6;
        }
        java.util.Arrays.sort(samples);
        return samples[repeats / 2];
    }

    /** Releases native resources (GPU modules, thread pools); a no-op for most CPU kernels. */
    @Override
    default void close() {}
}
