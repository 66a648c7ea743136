package attnc.jvm;

import attnc.ir.Pattern;
import attnc.jvm.emit.KernelGenerator;
import attnc.jvm.emit.Slots;
import attnc.jvm.emit.Tiling;
import attnc.jvm.kernel.DecodeKernel;
import attnc.jvm.kernel.DecodeLaunch;
import attnc.jvm.kernel.Driver;
import attnc.jvm.kernel.Launch;
import attnc.jvm.kernel.Operand;
import attnc.jvm.kernel.OutputSink;
import attnc.jvm.kernel.TileKernel;
import attnc.jvm.kernel.TileRows;
import attnc.jvm.serving.RaggedLaunch;
import attnc.jvm.sparsity.AnalysedTiles;
import attnc.launch.BackwardLaunch;
import attnc.launch.Binding;
import attnc.launch.Outputs;
import attnc.launch.Gradients;
import attnc.launch.Partial;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.lower.LoweredPattern;
import attnc.run.Kernel;
import attnc.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.Set;

/**
 * A pattern compiled for the CPU: its generated classes, loaded, plus what a launch needs to feed
 * them. Two classes of the same pattern: the main one with the requested tiles, and the decode
 * one ({@link JvmDecode}) for launches with at most {@link DecodeLaunch#MAX_QUERIES} queries a
 * sequence, where a query tile would compute mostly padding.
 *
 * <p>Q, K and V are read where they are: a {@code float[]} or a segment (fp32, bf16 or fp16), in any
 * layout whose rows (D) are contiguous; other layouts are copied first. Output goes straight into
 * a caller's tensor with {@link #forward(Problem, Tensor, Tensor)}. Holds no per-call state (scratch
 * is per thread), so concurrent {@code forward} calls are safe. Launches run on the shared pool
 * ({@link Driver.Pool#shared()}) or on the executor given to {@link #withExecutor}.
 */
public final class JvmKernel implements Kernel {
    /** Never started: asks a segment whether threads other than its owner may read it. */
    private static final Thread OTHER_THREAD = Thread.ofVirtual().unstarted(() -> {});

    private final LoweredPattern lowered;
    private final Pattern pattern;
    private final Slots slots;
    private final TileKernel tiles;
    private final JvmDecode decode;
    private final boolean masked;
    private final Driver.Pool pool;
    /** The bytes one method of a generated tile hook may take ({@link KernelGenerator#PASS_BYTES}), for the backward too. */
    private final int passBytes;
    private volatile boolean closed;
    /** Generated on the first backward call wanting these inputs' gradients (a subset leaves out the others' work). */
    private final Map<Set<String>, JvmBackward> backwards = new java.util.concurrent.ConcurrentHashMap<>();
    /** Generated on the first ragged call. */
    private volatile RaggedLaunch ragged;
    JvmKernel(LoweredPattern lowered, Slots slots, TileKernel tiles, DecodeKernel decode) {
        this(lowered, slots, tiles, decode, KernelGenerator.PASS_BYTES);
    }

    JvmKernel(LoweredPattern lowered, Slots slots, TileKernel tiles, DecodeKernel decode, int passBytes) {
        this(lowered, slots, tiles, new JvmDecode(lowered, slots, decode), null, passBytes);
    }

    private JvmKernel(LoweredPattern lowered, Slots slots, TileKernel tiles, JvmDecode decode, Driver.Pool pool, int passBytes) {
        this.lowered = lowered;
        this.pattern = lowered.pattern();
        this.slots = slots;
        this.tiles = tiles;
        this.decode = decode;
        this.masked = !lowered.alwaysVisible();
        this.pool = pool;
        this.passBytes = passBytes;
    }

    @Override public Pattern pattern() { return pattern; }

    /** The default options ({@link BackwardOptions#standard}). */
    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        return backward(problem, forward, dOut, wanted, BackwardOptions.standard());
    }

    /** {@link BackwardOptions#reproducible} when {@code deterministic}, {@link BackwardOptions#standard} otherwise. */
    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, boolean deterministic) {
        return backward(problem, forward, dOut, wanted, deterministic ? BackwardOptions.reproducible() : BackwardOptions.standard());
    }

    /**
     * The gradients in {@code wanted} ({@link Kernel#backward}), run as {@code options} say: in
     * deterministic mode they are bitwise identical on every run and any number of threads.
     */
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, BackwardOptions options) {
        Set<String> inputs = new java.util.TreeSet<>();
        for (Wrt w : wanted == null ? Set.<Wrt>of() : wanted) if (w instanceof Wrt.Input(String name)) inputs.add(name);
        JvmBackward pass = backwards.computeIfAbsent(Set.copyOf(inputs), names -> JvmBackward.compile(pattern, new Tiling(tiles.tileQ(), tiles.tileKv()), names, passBytes));
        if (closed) throw new IllegalStateException("kernel for pattern '" + pattern.name() + "' is closed");
        return pass.run(problem, forward, dOut, wanted, options, pool != null ? pool : Driver.Pool.shared());
    }

    /**
     * The decode kernel when every sequence has at most {@link DecodeLaunch#MAX_QUERIES} queries
     * (pages read through the block table, splits across the pool's threads), else each sequence a
     * launch of this kernel's tiles ({@link RaggedLaunch}).
     */
    @Override
    public Result forward(RaggedBatch batch) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        return JvmDecode.fits(binding) ? decode().forward(batch, binding, pool()) : raggedLaunch().forward(batch);
    }

    @Override
    public Partial partial(RaggedBatch batch, int kvFrom, int kvTo) {
        RaggedBinding binding = RaggedBinding.of(pattern, batch);
        Kernel.requireKeyRange(kvFrom, kvTo);
        return JvmDecode.fits(binding) ? decode().partial(batch, binding, kvFrom, kvTo, pool()) : raggedLaunch().partial(batch, kvFrom, kvTo);
    }

    @Override public Result finish(RaggedBatch batch, Partial merged) { return raggedLaunch().finish(batch, merged); }

    private RaggedLaunch raggedLaunch() {
        if (closed) throw new IllegalStateException("kernel for pattern '" + pattern.name() + "' is closed");
        RaggedLaunch launch = ragged;
        if (launch == null) {
            synchronized (this) {
                if (ragged == null) {
                    Tiling tiling = new Tiling(tiles.tileQ(), tiles.tileKv());
                    ragged = new RaggedLaunch(pattern, p -> {
                        JvmKernel kernel = new JvmBackend().compile(p, tiling);
                        return pool == null ? kernel : kernel.withExecutor(pool.executor(), pool.parallelism());
                    }, tiles.tileKv());
                }
                launch = ragged;
            }
        }
        return launch;
    }

    private JvmDecode decode() {
        if (closed) throw new IllegalStateException("kernel for pattern '" + pattern.name() + "' is closed");
        return decode;
    }

    private Driver.Pool pool() { return pool != null ? pool : Driver.Pool.shared(); }


    public boolean producesLse() { return lowered.writesLse(); }

    /** This kernel's compiled classes, launched on {@code executor} by at most {@code parallelism} threads (the caller's included). */
    @Override
    public JvmKernel withExecutor(Executor executor, int parallelism) {
        return new JvmKernel(lowered, slots, tiles, decode, new Driver.Pool(executor, parallelism), passBytes);
    }

    @Override
    public Result forward(Problem problem) {
        Binding binding = Binding.of(pattern, problem);
        int b = binding.size("B"), h = binding.size("H"), nq = binding.size("Nq"), dv = binding.size("Dv");
        float[] out = new float[b * h * nq * dv];
        float[] lse = producesLse() ? new float[b * h * nq] : null;
        // The backward pass needs o before an output transform (BackwardLaunch.needsPreOutput).
        float[] preOutput = BackwardLaunch.needsPreOutput(pattern) ? new float[out.length] : null;
        run(binding, problem, rows(out, h, nq, dv), lse, preOutput == null ? null : rows(preOutput, h, nq, dv));
        return new Result(out, lse, new int[] {b, h, nq, dv}, preOutput);
    }

    private static OutputSink rows(float[] data, int heads, int nq, int dv) {
        return new OutputSink.Heap(data, (long) heads * nq * dv, (long) nq * dv, dv);
    }

    /**
     * Writes the output into {@code out} and, unless null, the LSE into {@code lse}, in place: no
     * array of the output's size is made when {@code out}'s rows are contiguous. An LSE tensor
     * that is not a contiguous {@code float[]} is filled from a temporary array (B·H·Nq floats).
     */
    @Override
    public void forward(Problem problem, Tensor out, Tensor lse) {
        Binding binding = Binding.of(pattern, problem);
        Outputs.check(pattern, binding, out, lse);
        float[] lseRows = lse == null ? null
                : lse.isContiguous() && lse.storage() instanceof Tensor.Storage.Floats(float[] a) ? a
                : new float[lse.size()];
        OutputSink sink = sink(out);
        if (sink == null) {
            float[] rows = new float[out.size()];
            run(binding, problem, new OutputSink.Heap(rows, (long) out.dim(1) * out.dim(2) * out.dim(3), (long) out.dim(2) * out.dim(3), out.dim(3)), lseRows,
                    null);
            out.copyFrom(rows);
        } else {
            run(binding, problem, sink, lseRows, null);
        }
        if (lse != null && lseRows != null && !(lse.storage() instanceof Tensor.Storage.Floats(float[] a) && a == lseRows)) {
            lse.copyFrom(lseRows);
        }
    }

    private void run(Binding binding, Problem problem, OutputSink out, float[] lse, OutputSink preOutput) {
        if (closed) throw new IllegalStateException("kernel for pattern '" + pattern.name() + "' is closed");
        Driver.Pool on = pool != null ? pool : Driver.Pool.shared();
        Operand q = operand("q", problem.q(), on), k = operand("k", problem.k(), on), v = operand("v", problem.v(), on);
        if (binding.size("Nq") <= DecodeLaunch.MAX_QUERIES) {
            decode().forward(binding, problem, q, k, v, out, lse, preOutput, on);
            return;
        }
        TileKernel kernel = tiles;
        Map<String, Tensor> inputs = problem.inputs();
        var env = slots.env(binding, inputs);
        int kvTiles = (binding.size("Nkv") + kernel.tileKv() - 1) / kernel.tileKv();
        TileRows classify = masked
                ? AnalysedTiles.of(pattern, binding, inputs, kernel.tileQ(), kernel.tileKv())
                : TileRows.allFull(kvTiles);
        Driver.run(kernel, new Launch(q, k, v, out, lse, env, classify,
                binding.size("B"), binding.size("H"), binding.size("Hkv"), binding.size("Nq"), binding.size("Nkv"),
                binding.size("D"), binding.size("Dv"), binding.queryOffset(), preOutput), on);
    }

    /** Q, K or V read in place when its rows are contiguous, else from a dense copy. */
    private static Operand operand(String name, Tensor t, Driver.Pool pool) {
        if (t.stride(3) != 1 && t.dim(3) > 1) t = Tensor.ofFloats(t.dtype(), t.shape(), t.floats());
        return switch (t.storage()) {
            case Tensor.Storage.Floats(float[] a) -> new Operand.Heap(a, t.offset(), t.stride(0), t.stride(1), t.stride(2), t.dim(3));
            case Tensor.Storage.Segment(MemorySegment s) -> {
                requireShared(name, s, pool);
                yield new Operand.Segment(s, t.dtype(), t.offset(), t.stride(0), t.stride(1), t.stride(2), t.dim(3));
            }
            case Tensor.Storage.Ints ignored -> throw new IllegalStateException(name + ": float tensor over int storage");
            case Tensor.Storage.Device ignored -> throw attnc.launch.ShapeException.onDevice(name, "jvm");
        };
    }

    /** Where output rows go in place, or null when {@code out}'s rows are not contiguous. */
    private OutputSink sink(Tensor out) {
        if (out.stride(3) != 1 && out.dim(3) > 1) return null;
        return switch (out.storage()) {
            case Tensor.Storage.Floats(float[] a) -> new OutputSink.Heap(a, out.dtype(), out.offset(), out.stride(0), out.stride(1), out.stride(2));
            case Tensor.Storage.Segment(MemorySegment s) -> {
                requireShared("out", s, pool != null ? pool : Driver.Pool.shared());
                yield new OutputSink.Segment(s, out.dtype(), out.offset(), out.stride(0), out.stride(1), out.stride(2));
            }
            case Tensor.Storage.Ints ignored -> throw new IllegalStateException("out: float tensor over int storage");
            case Tensor.Storage.Device ignored -> throw attnc.launch.ShapeException.onDevice("out", "jvm");
        };
    }

    private static void requireShared(String name, MemorySegment segment, Driver.Pool pool) {
        if (pool.parallelism() > 1 && !segment.isAccessibleBy(OTHER_THREAD)) {
            throw new IllegalArgumentException(name + ": the segment is confined to one thread (Arena.ofConfined()), and this kernel"
                    + " runs on " + pool.parallelism() + " threads; expected a segment of Arena.ofShared(), ofAuto() or global(),"
                    + " or a kernel on its caller's thread alone: kernel.withExecutor(Runnable::run, 1)");
        }
    }

    /** Later launches throw; the generated classes are unloaded with the last reference to them. */
    @Override
    public void close() {
        closed = true;
    }
}
