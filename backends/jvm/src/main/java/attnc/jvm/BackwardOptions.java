package attnc.jvm;

import attnc.jvm.kernel.Driver;

/**
 * How {@link JvmKernel#backward(attnc.launch.Problem, attnc.launch.Result, attnc.tensor.Tensor, java.util.Set, BackwardOptions)}
 * runs.
 *
 * @param deterministic bitwise-identical gradients on every run and any number of threads: each
 *                      query tile's dq and row sums take their key tiles' contributions in
 *                      ascending order, and element-wise input gradients are added task by task in
 *                      a fixed order, instead of whichever thread comes first (and atomically)
 * @param threads       at most this many threads of the kernel's pool ({@link JvmKernel#withExecutor}) work on the
 *                      launch, the caller's included; 1 runs it on the caller alone
 */
public record BackwardOptions(boolean deterministic, int threads) {

    public BackwardOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }

    /** Every core, sums in the order threads reach them: what {@link JvmKernel#backward} uses. */
    public static BackwardOptions standard() { return new BackwardOptions(false, Driver.Pool.shared().parallelism()); }

    /** Every core, gradients bitwise reproducible. */
    public static BackwardOptions reproducible() { return new BackwardOptions(true, Driver.Pool.shared().parallelism()); }

    public BackwardOptions withThreads(int count) { return new BackwardOptions(deterministic, count); }
}
