package attnc.run;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
    private final Kernel fallback;
    private final Map<TuningConfig, Kernel> compiled = new ConcurrentHashMap<>();
    private final Set<TuningConfig> stale = ConcurrentHashMap.newKeySet();
    /** The kernel each launch shape (sizes and dtype) uses, looked up once: no cache I/O on the launch path. */
    private final Map<List<Object>, Kernel> chosen = new ConcurrentHashMap<>();

    TunedKernel(Backend backend, Pattern pattern, TuningLookup lookup) {
        this.backend = backend;
        this.pattern = pattern;
        this.lookup = lookup;
        this.fallback = backend.compile(pattern);
    }

    @Override public Pattern pattern() { return pattern; }

    @Override
    public Result forward(Problem problem) {
        return kernelFor(problem).forward(problem);
    }

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

    private Kernel choose(Binding binding, DType dtype) {
        Optional<TuningConfig> tuned = lookup.lookup(pattern, binding, dtype, backend.name(), backend.device());
        return tuned.filter(config -> usable(config, binding))
                .map(config -> compiled.computeIfAbsent(config, c -> backend.compile(pattern, c)))
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
        compiled.values().forEach(Kernel::close);
    }
}
