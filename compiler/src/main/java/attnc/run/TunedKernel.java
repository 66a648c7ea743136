package attnc.run;

import attnc.ir.Pattern;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A kernel that picks, per launch, the configuration the tuning cache holds for the launch's
 * shape, compiling each configuration once. A cached configuration the backend no longer offers
 * (a stale entry from another version) is ignored with one warning, and the default is used.
 */
final class TunedKernel implements Kernel {
    private final Backend backend;
    private final Pattern pattern;
    private final TuningLookup lookup;
    private final Kernel fallback;
    private final Map<TuningConfig, Kernel> compiled = new ConcurrentHashMap<>();
    private final Set<TuningConfig> stale = ConcurrentHashMap.newKeySet();

    TunedKernel(Backend backend, Pattern pattern, TuningLookup lookup) {
        this.backend = backend;
        this.pattern = pattern;
        this.lookup = lookup;
        this.fallback = backend.compile(pattern);
    }

    @Override public Pattern pattern() { return pattern; }

    @Override
    public Result forward(Problem problem) {
        Binding binding = Binding.of(pattern, problem);
        Optional<TuningConfig> tuned = lookup.lookup(pattern, binding, problem.q().dtype(), backend.name(), backend.device());
        Kernel kernel = tuned.filter(config -> usable(config, binding))
                .map(config -> compiled.computeIfAbsent(config, c -> backend.compile(pattern, c)))
                .orElse(fallback);
        return kernel.forward(problem);
    }

    private boolean usable(TuningConfig config, Binding binding) {
        if (compiled.containsKey(config)) return true;
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
