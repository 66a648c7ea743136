package attnc.run;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Gradients;
import attnc.launch.Partial;
import attnc.launch.RaggedBatch;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.UnaryOperator;

/**
 * A kernel that picks, for each launch shape, the configuration the tuning cache holds for it
 * (looked up at the shape's first launch), compiling each configuration once. A cached
 * configuration the backend no longer offers (a stale entry from another version) is ignored
 * with one warning, and the default is used.
 */
final class TunedKernel implements Kernel {
    private final Backend backend;
    private final Pattern pattern;
    private final TuningLookup lookup;
    /** Compiled once, shared with the kernels {@link #withExecutor} derives from this one. */
    private final Kernel compiledDefault;
    private final Map<TuningConfig, Kernel> compiled;
    private final Set<TuningConfig> stale;
    /** Applied to each compiled kernel this one launches: the executor a caller chose, or nothing. */
    private final UnaryOperator<Kernel> placed;
    private final Kernel fallback;
    /** The kernel each launch shape (sizes and dtype) uses, looked up once: no cache I/O on the launch path. */
    private final Map<List<Object>, Kernel> chosen = new ConcurrentHashMap<>();

    TunedKernel(Backend backend, Pattern pattern, TuningLookup lookup) {
        this(backend, pattern, lookup, backend.compile(pattern), new ConcurrentHashMap<>(), ConcurrentHashMap.newKeySet(),
                UnaryOperator.identity());
    }

    private TunedKernel(Backend backend, Pattern pattern, TuningLookup lookup, Kernel compiledDefault,
                        Map<TuningConfig, Kernel> compiled, Set<TuningConfig> stale, UnaryOperator<Kernel> placed) {
        this.backend = backend;
        this.pattern = pattern;
        this.lookup = lookup;
        this.compiledDefault = compiledDefault;
        this.compiled = compiled;
        this.stale = stale;
        this.placed = placed;
        this.fallback = placed.apply(compiledDefault);
    }

    @Override
    public Kernel withExecutor(Executor executor, int parallelism) {
        Kernel.super.withExecutor(executor, parallelism);
        return new TunedKernel(backend, pattern, lookup, compiledDefault, compiled, stale, k -> k.withExecutor(executor, parallelism));
    }

    @Override public Pattern pattern() { return pattern; }

    @Override
    public Result forward(Problem problem) {
        return kernelFor(problem).forward(problem);
    }

    @Override
    public void forward(Problem problem, Tensor out, Tensor lse) {
        kernelFor(problem).forward(problem, out, lse);
    }

    /** Ragged launches have no tuned configurations yet: the default kernel runs them. */
    @Override public Result forward(RaggedBatch batch) { return fallback.forward(batch); }

    @Override public void forward(RaggedBatch batch, Tensor out, Tensor lse) { fallback.forward(batch, out, lse); }

    @Override public Partial partial(RaggedBatch batch, int kvFrom, int kvTo) { return fallback.partial(batch, kvFrom, kvTo); }

    @Override public Result finish(RaggedBatch batch, Partial merged) { return fallback.finish(batch, merged); }

    /**
     * Times the kernel this shape uses, as that kernel times itself (device work on resident data
     * for a GPU kernel), not this wrapper's whole calls, which would time host copies.
     */
    @Override
    public double medianMillis(java.util.function.Supplier<Problem> freshInputs, int warmups, int repeats) {
        Problem first = freshInputs.get();
        Kernel kernel = kernelFor(first);
        boolean[] handedOut = {false};
        return kernel.medianMillis(() -> {
            if (handedOut[0]) return freshInputs.get();
            handedOut[0] = true;
            return first;
        }, warmups, repeats);
    }

    private Kernel kernelFor(Problem problem) {
        Binding binding = Binding.of(pattern, problem);
        DType dtype = problem.q().dtype();
        return chosen.computeIfAbsent(List.of(binding.sizes(), dtype), shape -> choose(binding, dtype));
    }

    /** Backward has no tuned configurations yet: the default kernel runs it. */
    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted) {
        return fallback.backward(problem, forward, dOut, wanted);
    }

    @Override
    public Gradients backward(Problem problem, Result forward, Tensor dOut, Set<Wrt> wanted, boolean deterministic) {
        return fallback.backward(problem, forward, dOut, wanted, deterministic);
    }

    private Kernel choose(Binding binding, DType dtype) {
        Optional<TuningConfig> tuned = lookup.lookup(pattern, binding, dtype, backend.name(), backend.device());
        return tuned.filter(config -> usable(config, binding))
                .map(config -> placed.apply(compiled.computeIfAbsent(config, c -> backend.compile(pattern, c))))
                .orElse(fallback);
    }

    private boolean usable(TuningConfig config, Binding binding) {
        if (backend.configurations(pattern, binding).contains(config)) return true;
        if (stale.add(config)) {
            System.err.println("attnc: warning: tuned configuration " + config + " is not one the " + backend.name()
                    + " backend offers for this shape (stale cache entry?); using the default");
        }
        return false;
    }

    @Override
    public void close() {
        fallback.close();
        chosen.values().forEach(Kernel::close);
    }
}
