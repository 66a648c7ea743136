package attnc.run;

import attnc.ir.Pattern;
import attnc.launch.Binding;

/**
 * A code generator behind a name ({@code reference}, {@code jvm}, {@code ptx}). Backends are
 * found with {@link java.util.ServiceLoader}, so the command line and the runtime API pick one by
 * name without depending on it.
 */
public interface Backend {

    String name();

    /** Whether this machine can run the backend's kernels (a GPU backend needs a GPU). */
    default boolean available() { return true; }

    /** Whether its kernels implement {@link Kernel#backward}; a caller asks before running a forward it would then waste. */
    default boolean hasBackward() { return false; }

    /** Compiles an optimised pattern (see {@link attnc.pass.Passes}). */
    Kernel compile(Pattern pattern);

    /**
     * The files that make up the compiled kernel (class files, PTX text), by relative path, for
     * build-time precompilation and export; empty when the backend compiles only in memory.
     */
    default java.util.Map<String, byte[]> export(Pattern pattern) { return java.util.Map.of(); }

    /**
     * As {@link #export(Pattern)}, for the named target architectures only ({@code sm_80}, ...;
     * all when empty). A backend with no architectures to choose refuses a non-empty list.
     */
    default java.util.Map<String, byte[]> export(Pattern pattern, java.util.List<String> architectures) {
        if (!architectures.isEmpty()) {
            throw new IllegalArgumentException("the " + name() + " backend has no target architectures to choose; got " + String.join(", ", architectures));
        }
        return export(pattern);
    }

    /**
     * A kernel from files this backend exported earlier (by {@link #export}, e.g. at build time),
     * so nothing is generated at run time; empty when the backend cannot load exported files or
     * they do not belong to this pattern.
     */
    default java.util.Optional<Kernel> load(Pattern pattern, java.util.Map<String, byte[]> exported) { return java.util.Optional.empty(); }

    /**
     * The configurations worth timing for a launch like {@code binding}, already pruned of those
     * that cannot work (tiles larger than the sequence, too many registers or too much shared
     * memory); empty when the backend has nothing to tune.
     */
    default java.util.List<TuningConfig> configurations(Pattern pattern, Binding binding) { return java.util.List.of(); }

    /**
     * The configuration {@link #compile(Pattern)} uses, when it is one of {@link #configurations}:
     * the tuner times it once, as the default, and not again as a candidate.
     */
    default java.util.Optional<TuningConfig> defaultConfiguration(Pattern pattern, Binding binding) { return java.util.Optional.empty(); }

    /**
     * What a launch like {@code binding} runs ({@link #compile(Pattern)}'s tiles, warps, stages),
     * one line as {@code attnc explain} prints it; the pattern's {@code tile:} section is either
     * honoured there or refused by {@link #compile(Pattern)} with a message.
     */
    default java.util.Optional<String> plan(Pattern pattern, Binding binding) { return java.util.Optional.empty(); }

    /** Compiles with one configuration from {@link #configurations}. */
    default Kernel compile(Pattern pattern, TuningConfig config) { return compile(pattern); }

    /**
     * Relative precision of the kernels' arithmetic: two configurations of this backend may
     * differ by this much times the output's magnitude (sums in another order; on GPUs, weights
     * rounded to bf16 against another running max).
     */
    default double precision() { return 1e-5; }

    /** The machine timings are for: tuned configurations are kept per device. */
    default String device() {
        return System.getProperty("os.arch") + "/" + Runtime.getRuntime().availableProcessors() + "cpu";
    }

    static java.util.Optional<Backend> named(String name) {
        return java.util.ServiceLoader.load(Backend.class).stream().map(java.util.ServiceLoader.Provider::get)
                .filter(b -> b.name().equals(name)).findFirst();
    }

    static java.util.List<String> names() {
        return java.util.ServiceLoader.load(Backend.class).stream().map(p -> p.get().name()).toList();
    }
}
