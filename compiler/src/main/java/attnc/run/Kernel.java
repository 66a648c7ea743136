package attnc.run;

import attnc.ir.Pattern;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Outputs;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * A compiled pattern, ready to run. Every backend's kernels have this call shape, so a user
 * switches backend by one argument. {@link #forward} checks the problem against the pattern
 * ({@link Binding#of}) before it computes anything.
 *
 * <p><b>Threads.</b> A kernel holds no per-call state: {@code forward} may be called from several
 * threads at once (a JVM kernel keeps its scratch per thread; a GPU launch has its own device
 * buffers). A JVM kernel runs each launch on the calling thread and a shared pool of daemon
 * threads, one per core (set the count with {@code -Dattnc.threads=N}), or on an executor of the
 * caller's ({@link #withExecutor}).
 *
 * <p><b>Warm-up.</b> A JVM kernel's first launches run before HotSpot has compiled its generated
 * code: time (or serve) after a few launches of the shapes you use. A precompiled kernel skips
 * code generation, not this warm-up.
 *
 * <p><b>Lifetime.</b> A kernel is meant to be made once and reused; {@link #close} releases what it
 * holds, after which it is not launched again.
 */
public interface Kernel extends AutoCloseable {

    Pattern pattern();

    /** Runs the pattern into fresh arrays: the output [B, H, Nq, Dv] and, for softmax patterns, the LSE [B, H, Nq]. */
    Result forward(Problem problem);

    /**
     * Runs the pattern into the caller's tensors: {@code out} [B, H, Nq, Dv] (float32, bfloat16 or
     * float16, any layout, e.g. a transposed [B, Nq, H, Dv] buffer) and, unless null, {@code lse}
     * [B, H, Nq] (float32; softmax patterns only). Both are checked before any work, like the
     * problem. JVM kernels write rows straight into {@code out}'s storage; others compute a
     * {@link Result} and copy it in.
     */
    default void forward(Problem problem, Tensor out, Tensor lse) {
        Outputs.check(pattern(), Binding.of(pattern(), problem), out, lse);
        Result result = forward(problem);
        out.copyFrom(result.out());
        if (lse != null) lse.copyFrom(result.lse());
    }

    /**
     * This kernel's compiled code, launched by at most {@code parallelism} threads at once (the
     * caller's included) with helper tasks given to {@code executor}; this kernel is unchanged. For
     * a server that sizes its own pools, or {@code withExecutor(Runnable::run, 1)} to stay on the
     * calling thread. Kernels that do not run on host threads (GPU) return themselves.
     */
    default Kernel withExecutor(Executor executor, int parallelism) {
        java.util.Objects.requireNonNull(executor, "executor");
        if (parallelism < 1) throw new IllegalArgumentException("parallelism must be at least 1, got " + parallelism);
        return this;
    }

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

    /**
     * Releases what the kernel holds (GPU modules); the kernel is not to be launched afterwards
     * (a JVM kernel refuses with {@link IllegalStateException}). Generated classes are unloaded
     * with the last reference to them.
     */
    @Override
    default void close() {}
}
