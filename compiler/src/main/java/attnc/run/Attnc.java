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

    public static Kernel compile(Path file, String backend, Map<String, Expr> compileTimeParams) throws CompileException {
        return compile(Frontend.compile(file), backend, compileTimeParams);
    }

    public static Kernel compile(String name, String text, String backend, Map<String, Expr> compileTimeParams) throws CompileException {
        return compile(Frontend.compile(name, text), backend, compileTimeParams);
    }

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
