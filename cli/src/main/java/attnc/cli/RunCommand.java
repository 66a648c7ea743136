package attnc.cli;

import attnc.front.CompileException;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Result;
import attnc.launch.ShapeException;
import attnc.reference.Reference;
import attnc.run.Attnc;
import attnc.run.Backend;
import attnc.run.Kernel;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attnc run FILE}: compiles a pattern with a backend, warms it up, times it, and reports
 * the median time, GFLOP/s and the error against the double-precision reference (on every row,
 * or on a sample of rows for large launches).
 */
@Command(name = "run", description = {
        "Runs a pattern on random (or --inputs) data and compares it with the reference.",
        "Params are launch-time values by default; with --fold they are compiled into the kernel instead.",
        "Times --repeat runs after --warmup untimed ones and reports the median, min and max.",
        "GFLOP/s counts 2*B*H*Nq*Nkv*(D+Dv) times the visible fraction, counted by evaluating the mask with the reference."})
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

    @Option(names = "--save", paramLabel = "DIR", description = "Write the tensors used and out.npy [B,H,Nq,Dv] (and lse.npy [B,H,Nq]) to DIR (new or an existing folder).")
    private Path saveFolder;

    @Option(names = "--warmup", paramLabel = "N",
            description = "Untimed runs first, so JIT compilation and first-touch costs are not timed "
                    + "(default: until " + Timing.STEADY_RUNS + " runs in a row are within 25%% of the fastest before them and a second "
                    + "has passed, at least " + Timing.MIN_WARMUPS + ", at most " + Timing.MAX_WARMUPS + " runs or " + Timing.MAX_WARMUP_SECONDS + " s).")
    private Integer warmups;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "5",
            description = "Timed runs; the report gives their median, min and max (default: ${DEFAULT-VALUE}).")
    private int repeat;

    @Option(names = "--grad", description = "Also run the backward pass on a seeded random dOut and print one line per gradient "
            + "(dq, dk, dv, each float input's) with its error against the reference backward; exit 1 when one is outside tolerance.")
    private boolean grad;

    @Option(names = "--deterministic", description = "With --grad: the deterministic backward, whose gradients are bitwise the same on every run; "
            + "it runs at least twice and the report says whether the bits agree.")
    private boolean deterministic;

    @Option(names = "--check", paramLabel = "HOW", defaultValue = "auto", converter = CheckConverter.class,
            description = "full (every row against the reference), sample (a seeded sample of rows) or none; "
                    + "default: full up to " + (CheckPlan.FULL_CHECK_WORK >> 20) + "M multiply-adds of the reference, else sample.")
    private CheckPlan.Mode check;

    @Mixin
    private ProblemOptions problemOptions;

    @Mixin
    private ServingOptions serving;

    @Override
    public Integer call() throws CompileException, IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (repeat < 1) throw new UserError("--repeat must be at least 1, got " + repeat);
        if (warmups != null && warmups < 0) throw new UserError("--warmup must be at least 0, got " + warmups);
        if (saveFolder != null) OutputPaths.requireFolder("--save", saveFolder);
        Pattern loaded = Patterns.load(file);
        Backend backend = Backend.named(backendName).orElseThrow(() ->
                new UserError("unknown backend '" + backendName + "'; available: " + String.join(", ", Backend.names())));
        if (!backend.available()) throw new UserError("backend '" + backendName + "' cannot run on this machine");
        if (deterministic && !grad) throw new UserError("--deterministic applies to the backward pass: add --grad");
        if (grad && !backend.hasBackward()) {
            throw new UserError("--grad: backend '" + backendName + "' has no backward pass; backends with one: "
                    + String.join(", ", Backend.names().stream().filter(n -> Backend.named(n).map(Backend::hasBackward).orElse(false)).toList()));
        }
        Map<String, Expr> params = Patterns.paramValues(loaded, problemOptions.inputOptions.params);
        // The reference interprets the IR at every launch: folding would change nothing there.
        Map<String, Expr> compileTime = fold && !isReference(backend) ? params : Map.of();
        Pattern pattern = Patterns.withFixed(file, loaded, compileTime);
        serving.check();
        if (serving.ragged()) return ragged(out, err, pattern, params, compileTime, backend);
        List<String> notes = new ArrayList<>();
        // The kernel's output (4 bytes per element), and with a full check the reference's (8) and the mask probe's (8, and V).
        long bytesPerOutput = check == CheckPlan.Mode.FULL ? 24 : 4;
        Problem problem = problemOptions.build(pattern, params, problemOptions.inputOptions.random.seed, bytesPerOutput, notes);
        Binding binding = Binding.of(pattern, problem);
        CheckPlan plan = CheckPlan.of(check, binding, problemOptions.inputOptions.random.seed);
        RunReport report = new RunReport(out, pattern, file, binding, problem);
        report.header(problemOptions.inputsFolder == null ? problemOptions.inputOptions.random : null, compileTime.isEmpty() ? "launch time" : "folded at compile time: --fold");
        report.notes(notes);
        out.flush();

        long compileStart = System.nanoTime();
        try (Kernel kernel = compile(pattern, compileTime)) {
            long compileNanos = System.nanoTime() - compileStart;
            Problem launch = withoutParams(problem, compileTime);
            Result[] last = new Result[1];
            Timing timing = Timing.measure(() -> last[0] = launch(kernel, launch), warmups, repeat, err, backendName);
            Result result = last[0];
            report.timing(backendName, compileNanos, timing);
            // A device kernel's calls include host copies; its own timing (device work on resident data) is reported beside them.
            if (!isCpu(backend)) report.deviceTime(kernel.medianMillis(() -> launch, 1, repeat), repeat);
            boolean ok = finish(out, err, pattern, problem, backend, result, report, plan, timing.medianNanos());
            if (grad) ok &= new GradientReport(out, deterministic).run(backendName, pattern, problem, kernel, launch, result, problemOptions.inputOptions.random.seed, repeat);
            return ok ? 0 : 1;
        }
    }

    /** A ragged launch over a paged cache ({@link RaggedRun}); the options of a dense launch it has no use for are refused. */
    private int ragged(PrintWriter out, PrintWriter err, Pattern pattern, Map<String, Expr> params, Map<String, Expr> compileTime, Backend backend) {
        String unused = problemOptions.inputsFolder != null ? "--inputs" : problemOptions.offset != null ? "--offset" : grad ? "--grad"
                : deterministic ? "--deterministic"
                : saveFolder != null ? "--save" : check == CheckPlan.Mode.SAMPLE ? "--check sample" : null;
        if (unused != null) {
            throw new UserError(unused + " does not apply to a ragged launch (--kv-lengths)"
                    + (unused.equals("--offset") ? "; each sequence's first query sits at its Nkv - Nq" : ""));
        }
        RaggedRun run = new RaggedRun(out, err);
        var batch = run.batch(pattern, withoutFolded(params, compileTime), problemOptions, serving);
        long compileStart = System.nanoTime();
        try (Kernel kernel = compile(pattern, compileTime)) {
            long compileNanos = System.nanoTime() - compileStart;
            try {
                return run.run(file, pattern, batch, backend, kernel, compileNanos, warmups, repeat, check != CheckPlan.Mode.NONE) ? 0 : 1;
            } catch (UnsupportedOperationException e) {
                throw new UserError("the " + backendName + " backend cannot run this launch: " + e.getMessage());
            }
        }
    }

    private static Map<String, Expr> withoutFolded(Map<String, Expr> params, Map<String, Expr> folded) {
        Map<String, Expr> rest = new LinkedHashMap<>(params);
        rest.keySet().removeAll(folded.keySet());
        return rest;
    }

    /**
     * A launch the backend cannot run (a head dimension it does not support, say) is the user's
     * to change, not a crash: the backend's reason, in one line.
     */
    private Kernel compile(Pattern pattern, Map<String, Expr> compileTime) {
        try {
            return Attnc.compile(pattern, backendName, compileTime);
        } catch (ShapeException e) {
            throw e;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw new UserError("the " + backendName + " backend cannot compile " + pattern.name() + ": " + e.getMessage());
        }
    }

    private Result launch(Kernel kernel, Problem problem) {
        try {
            return kernel.forward(problem);
        } catch (ShapeException e) {
            throw e;
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw new UserError("the " + backendName + " backend cannot run this launch: " + e.getMessage());
        }
    }

    /** Speed, error against the reference and the saved files; false when the output is wrong. */
    private boolean finish(PrintWriter out, PrintWriter err, Pattern pattern, Problem problem, Backend backend, Result result,
                           RunReport report, CheckPlan plan, long runNanos) throws IOException {
        int[] rows = plan.referenceRows();
        if (plan.checks()) {
            long visible = VisibleElements.count(pattern, Binding.of(pattern, problem), problem.inputs(), rows);
            long checkedRows = rows == null ? plan.totalRows() : rows.length, keys = problem.k().dim(2);
            report.speed(checkedRows == 0 || keys == 0 ? 0 : (double) visible / checkedRows / keys, rows == null ? "counted by evaluating the mask with the reference"
                    : "estimated from the " + rows.length + " checked rows", runNanos);
        } else {
            report.speed(Double.NaN, "--check none", runNanos);
        }
        boolean ok;
        if (!plan.checks()) {
            ok = report.unchecked(result);
        } else if (isReference(backend)) {
            ok = report.selfComparison(result);
        } else {
            Progress progress = new Progress(err, "checking against the reference", rows == null ? plan.totalRows() : rows.length);
            Reference.Exact exact = Reference.run(pattern, problem, rows, progress::update);
            progress.done();
            ok = report.comparison(result, exact, rows, plan.describe(), Accuracy.Tolerance.of(backend, problem.q().dtype()));
        }
        if (saveFolder != null) {
            NpyFolder.save(saveFolder, problem, result);
            out.println("saved     " + saveFolder + " (q, k, v, inputs, out" + (result.lse() != null ? ", lse" : "") + ")");
        }
        return ok;
    }

    private static boolean isCpu(Backend backend) {
        return backend.name().equals("jvm") || isReference(backend) || backend.name().startsWith("test-");
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

    static final class CheckConverter implements CommandLine.ITypeConverter<CheckPlan.Mode> {
        @Override
        public CheckPlan.Mode convert(String value) {
            return switch (value) {
                case "auto" -> CheckPlan.Mode.AUTO;
                case "full" -> CheckPlan.Mode.FULL;
                case "sample" -> CheckPlan.Mode.SAMPLE;
                case "none" -> CheckPlan.Mode.NONE;
                default -> throw new CommandLine.TypeConversionException("expected full, sample or none, got '" + value + "'");
            };
        }
    }
}
