package attnc.run;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import java.nio.file.Path;
import java.util.Map;

/**
 * The runtime API: compile a pattern from a file or from text and get a {@link Kernel} — the
 * same kernel object the generated wrappers use. Params given here are fixed at compile time and
 * folded into the kernel; the others stay launch-time params. When the tuner's cache is on the
 * class path, each launch uses the configuration tuned for its shape.
 */
public final class Attnc {
    private Attnc() {}

    /** A fold through a compile-time param that overflows or divides by zero is a {@link CompileException} at its line:col. */
    public static Kernel compile(Path file, String backend, Map<String, Expr> compileTimeParams) throws CompileException {
        return compile(Frontend.compile(file, compileTimeParams), backend, compileTimeParams);
    }

    public static Kernel compile(String name, String text, String backend, Map<String, Expr> compileTimeParams) throws CompileException {
        return compile(Frontend.compile(name, text, compileTimeParams), backend, compileTimeParams);
    }

    /**
     * The kernel a backend exported for this pattern (with every param left to launch time), read
     * from the class-path resources {@code attnc/<backend>/<anchor's class path>/...} the Maven plugin
     * writes; empty when a resource is missing or the
     * backend cannot load them, and the caller compiles instead.
     */
    public static java.util.Optional<Kernel> loadPrecompiled(Class<?> anchor, String name, String text, String backend,
                                                             java.util.List<String> resources) throws CompileException {
        Backend chosen = Backend.named(backend).orElse(null);
        if (chosen == null || !chosen.available() || resources.isEmpty()) return java.util.Optional.empty();
        Map<String, byte[]> files = new java.util.LinkedHashMap<>();
        for (String resource : resources) {
            String path = "/attnc/" + backend + "/" + anchor.getName().replace('.', '/') + "/" + resource;
            try (java.io.InputStream in = anchor.getResourceAsStream(path)) {
                if (in == null) return java.util.Optional.empty();
                files.put(resource, in.readAllBytes());
            } catch (java.io.IOException e) {
                return java.util.Optional.empty();
            }
        }
        return chosen.load(Passes.optimize(Frontend.compile(name, text), Map.of()), files);
    }

    /**
     * Compiles a checked pattern; an unknown or unavailable backend is an {@link IllegalArgumentException}
     * saying so. The compile-time params fold with the run-time meaning of ints (wrapping, {@code x / 0 = 0}):
     * compile from source ({@link #compile(Path, String, Map)}) to have a fold that overflows or divides
     * by zero reported at its line and column instead.
     */
    public static Kernel compile(Pattern pattern, String backend, Map<String, Expr> compileTimeParams) {
        Backend chosen = Backend.named(backend).orElseThrow(() -> new IllegalArgumentException(
                "unknown backend '" + backend + "'; expected one of " + Backend.names()));
        if (!chosen.available()) throw new IllegalArgumentException("backend '" + backend + "' cannot run on this machine");
        Pattern optimized = Passes.optimize(pattern, compileTimeParams);
        return TuningLookup.installed()
                .<Kernel>map(lookup -> new TunedKernel(chosen, optimized, lookup))
                .orElseGet(() -> chosen.compile(optimized));
    }
}
