package attnc.run;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The runtime API: compile a pattern from a file or from text and get a {@link Kernel} — the
 * same kernel object the generated wrappers use. Params given here are fixed at compile time and
 * folded into the kernel; the others stay launch-time params. When the tuner's cache is on the
 * class path, each launch uses the configuration tuned for its shape.
 *
 * <p>Backends are separate artifacts found on the class path: {@code jvm} in
 * {@code dev.attnc:attnc-backend-jvm}, {@code ptx} in {@code dev.attnc:attnc-backend-ptx};
 * {@code reference} comes with this one. Compiling takes milliseconds to a few hundred (code
 * generation and class loading): compile once, launch many times.
 */
public final class Attnc {
    /** The artifact that provides each backend this project ships. */
    private static final Map<String, String> ARTIFACTS = new LinkedHashMap<>();

    static {
        ARTIFACTS.put("jvm", "dev.attnc:attnc-backend-jvm");
        ARTIFACTS.put("ptx", "dev.attnc:attnc-backend-ptx");
        ARTIFACTS.put("reference", "dev.attnc:attnc-compiler");
    }

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
     * writes; empty when a resource is missing or the backend cannot load them, and the caller
     * compiles instead. A backend that is not on the class path is an error naming its artifact.
     */
    public static Optional<Kernel> loadPrecompiled(Class<?> anchor, String name, String text, String backend,
                                                   List<String> resources) throws CompileException {
        Backend chosen = Backend.named(backend).orElseThrow(() -> unknownBackend(backend));
        if (!chosen.available() || resources.isEmpty()) return Optional.empty();
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String resource : resources) {
            String path = "/attnc/" + backend + "/" + anchor.getName().replace('.', '/') + "/" + resource;
            try (InputStream in = anchor.getResourceAsStream(path)) {
                if (in == null) return Optional.empty();
                files.put(resource, in.readAllBytes());
            } catch (IOException e) {
                return Optional.empty();
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
        Backend chosen = Backend.named(backend).orElseThrow(() -> unknownBackend(backend));
        if (!chosen.available()) {
            throw new IllegalArgumentException("backend '" + backend + "' cannot run on this machine"
                    + (backend.equals("ptx") ? " (it needs an NVIDIA GPU and its driver); expected jvm or reference here" : ""));
        }
        Pattern optimized = Passes.optimize(pattern, compileTimeParams);
        return TuningLookup.installed()
                .<Kernel>map(lookup -> new TunedKernel(chosen, optimized, lookup))
                .orElseGet(() -> chosen.compile(optimized));
    }

    /**
     * The error for a backend name no backend on the class path answers to: which artifact to add
     * when the name is one of this project's, else the names there are.
     */
    public static IllegalArgumentException unknownBackend(String name) {
        String present = Backend.names().isEmpty() ? "none" : String.join(", ", Backend.names());
        String artifact = ARTIFACTS.get(name);
        if (artifact != null) {
            return new IllegalArgumentException("unknown backend '" + name + "': its artifact is not on the class path; add the"
                    + " dependency " + artifact + " (the version of attnc-compiler, or import dev.attnc:attnc-bom);"
                    + " backends on the class path: " + present);
        }
        return new IllegalArgumentException("unknown backend '" + name + "'; expected one of "
                + ARTIFACTS.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + ")").collect(Collectors.joining(", "))
                + "; backends on the class path: " + present);
    }
}
