package attnc.run;

import attnc.ir.Pattern;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Outputs;
import attnc.launch.Partial;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.launch.ShapeException;
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
     * Runs a ragged launch over a paged KV cache ({@link RaggedBatch}: sequences of their own
     * lengths, each a dense launch of its own at batch index b): the output [totalQ, H, Dv] and,
     * for softmax patterns, the LSE [totalQ, H], in fresh arrays. The batch is checked first
     * ({@link RaggedBinding#of}); a backend without paged kernels then refuses with one line.
     */
    default Result forward(RaggedBatch batch) {
        RaggedBinding.of(pattern(), batch);
        throw new UnsupportedOperationException(unsupported("paged and ragged launches"));
    }

    /**
     * A ragged launch into the caller's tensors: {@code out} [totalQ, H, Dv] (float32, bfloat16 or
     * float16, any layout) and, unless null, {@code lse} [totalQ, H] (float32; softmax only),
     * checked before any work.
     */
    default void forward(RaggedBatch batch, Tensor out, Tensor lse) {
        Outputs.check(pattern(), RaggedBinding.of(pattern(), batch), out, lse);
        Result result = forward(batch);
        out.copyFrom(result.out());
        if (lse != null) lse.copyFrom(result.lse());
    }

    /**
     * Attention over key positions [kvFrom, kvTo) of every sequence (clipped to its keys), as a
     * {@link Partial} for {@link attnc.launch.Merge}: out [totalQ, H, Dv] float32 and, for softmax
     * patterns, its LSE [totalQ, H], without the sink logit and the output transform. Positions
     * are the sequence's own, so masks see the keys where they are; the block table's pages
     * outside the range are not read. Partials over ranges that cover [0, Nkv) once, merged and
     * {@link #finish finished}, give {@link #forward(RaggedBatch)}'s result within rounding.
     */
    default Partial partial(RaggedBatch batch, int kvFrom, int kvTo) {
        RaggedBinding.of(pattern(), batch);
        requireKeyRange(kvFrom, kvTo);
        throw new UnsupportedOperationException(unsupported("partial launches"));
    }

    /**
     * The launch's result from its merged partial ([totalQ, H, Dv], with an LSE exactly for softmax
     * patterns): the sink logit joins each row once (a partial with output 0 and LSE z), then the
     * output transform; the LSE returned includes the sink, as {@link #forward(RaggedBatch)}'s does.
     */
    default Result finish(RaggedBatch batch, Partial merged) {
        RaggedBinding binding = RaggedBinding.of(pattern(), batch);
        binding.requireMerged(pattern(), merged);
        throw new UnsupportedOperationException(unsupported("finishing partial launches"));
    }

    /** A key range for {@link #partial}: 0 <= kvFrom <= kvTo. */
    static void requireKeyRange(int kvFrom, int kvTo) {
        if (kvFrom < 0 || kvTo < kvFrom) throw new ShapeException("key range [" + kvFrom + ", " + kvTo + "): expected 0 <= kvFrom <= kvTo");
    }

    private String unsupported(String what) {
        return "this backend has no " + what + " yet (" + getClass().getSimpleName() + " for pattern '" + pattern().name()
                + "'); the reference and jvm backends have them";
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
     * {@link #backward(Problem, Result, Tensor, Set)}; when {@code deterministic}, gradients bitwise
     * the same on every run (no sum whose value depends on which thread or block adds first), at a
     * cost the backend's documentation gives. The reference is deterministic as it stands; a
     * backend that cannot promise it refuses with one line.
     */
    default Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, boolean deterministic) {
        if (!deterministic) return backward(problem, forward, dOut, wanted);
        throw new UnsupportedOperationException("this backend has no deterministic backward (" + getClass().getSimpleName() + " for pattern '"
                + pattern().name() + "'); the reference, jvm and ptx backends have one");
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
