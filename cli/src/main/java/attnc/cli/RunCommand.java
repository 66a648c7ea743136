package attnc.cli;

import attnc.front.CompileException;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.reference.Reference;
import attnc.run.Attnc;
import attnc.run.Backend;
import attnc.run.Kernel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attnc run FILE}: compiles a pattern with a backend, runs it once (or {@code --repeat}
 * times) on seeded random inputs or on .npy files, and reports time, GFLOP/s and the error
 * against the double-precision reference.
 */
@Command(name = "run", description = {
        "Runs a pattern on random (or --inputs) data and compares it with the reference.",
        "Params are launch-time values by default; with --fold they are compiled into the kernel instead.",
        "GFLOP/s counts 4*B*H*Nq*Nkv*D times the visible fraction, counted exactly by evaluating the mask with the reference."})
final class RunCommand implements Callable<Integer> {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The .attn pattern file.")
    private Path file;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "jvm",
            description = "Which backend compiles the kernel (default: ${DEFAULT-VALUE}).")
    private String backendName;

    @Option(names = "--fold", description = "Compile the --param values into the kernel (constant-folded) instead of passing them at launch.")
    private boolean fold;

    @Option(names = "--save", paramLabel = "DIR", description = "Write the tensors used and out.npy [B,H,Nq,Dv] (and lse.npy [B,H,Nq]) to DIR.")
    private Path saveFolder;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "5",
            description = "Run the kernel N times and report the fastest (default: ${DEFAULT-VALUE}; the first runs include JIT warm-up).")
    private int repeat;

    @Option(names = "--grad", description = "Also run the backward pass on a seeded random dOut and print one line per gradient "
            + "(dq, dk, dv, each float input's) with its error against the reference backward; exit 1 when one is outside tolerance.")
    private boolean grad;

    @Mixin
    private ProblemOptions problemOptions;

    @Override
    public Integer call() throws CompileException, IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (repeat < 1) throw new UserError("--repeat must be at least 1, got " + repeat);
        Pattern pattern = Patterns.load(file);
        Backend backend = Backend.named(backendName).orElseThrow(() ->
                new UserError("unknown backend '" + backendName + "'; available: " + String.join(", ", Backend.names())));
        if (!backend.available()) throw new UserError("backend '" + backendName + "' cannot run on this machine");
        if (grad && !backend.hasBackward()) {
            throw new UserError("--grad: backend '" + backendName + "' has no backward pass; backends with one: "
                    + String.join(", ", Backend.names().stream().filter(n -> Backend.named(n).map(Backend::hasBackward).orElse(false)).toList()));
        }
        Map<String, Expr> params = Patterns.paramValues(pattern, problemOptions.inputOptions.params);
        Problem problem = problemOptions.build(pattern, params, problemOptions.inputOptions.seed);
        Binding binding = Binding.of(pattern, problem);
        RunReport report = new RunReport(out, pattern, file, binding, problem);
        // The reference interprets the IR at every launch: folding would change nothing there.
        Map<String, Expr> compileTime = fold && !isReference(backend) ? params : Map.of();
        report.header(problemOptions.inputsFolder == null ? problemOptions.inputOptions : null, compileTime.isEmpty() ? "launch time" : "folded at compile time: --fold");

        long compileStart = System.nanoTime();
        try (Kernel kernel = Attnc.compile(pattern, backendName, compileTime)) {
            long compileNanos = System.nanoTime() - compileStart;
            Problem launch = withoutParams(problem, compileTime);
            Result result = null;
            long fastest = Long.MAX_VALUE;
            for (int i = 0; i < repeat; i++) {
                long start = System.nanoTime();
                result = kernel.forward(launch);
                fastest = Math.min(fastest, System.nanoTime() - start);
            }
            report.timing(backendName, compileNanos, fastest, repeat);
            boolean ok = finish(out, pattern, problem, backend, result, report, fastest);
            if (grad) ok &= new GradientReport(out).run(backendName, pattern, problem, kernel, launch, result, problemOptions.inputOptions.seed, repeat);
            return ok ? 0 : 1;
        }
    }

    /** Speed, error against the reference and the saved files; false when the output is wrong. */
    private boolean finish(PrintWriter out, Pattern pattern, Problem problem, Backend backend, Result result, RunReport report, long runNanos)
            throws IOException {
        report.speed(MaskProbe.visibleCount(pattern, problem), runNanos);
        boolean ok = isReference(backend) ? report.selfComparison(result)
                : report.comparison(result, Reference.run(pattern, problem), problem.q().dtype());
        if (saveFolder != null) {
            NpyFolder.save(saveFolder, problem, result);
            out.println("saved     " + saveFolder + " (q, k, v, inputs, out" + (result.lse() != null ? ", lse" : "") + ")");
        }
        return ok;
    }

    private static boolean isReference(Backend backend) {
        return backend.name().equals("reference");
    }

    /** The launch without the params folded into the kernel: its pattern no longer declares them. */
    private static Problem withoutParams(Problem problem, Map<String, Expr> folded) {
        Map<String, Expr> rest = new LinkedHashMap<>(problem.params());
        rest.keySet().removeAll(folded.keySet());
        return new Problem(problem.q(), problem.k(), problem.v(), problem.inputs(), rest, problem.queryOffset());
    }
}
