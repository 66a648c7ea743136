package attnc.cli;

import attnc.front.CompileException;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.run.Backend;
import attnc.run.Binding;
import attnc.run.Kernel;
import attnc.run.Problem;
import attnc.run.Result;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
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

    @Option(names = "--shape", paramLabel = "B,H,Nq,Nkv,D", defaultValue = "1,4,512,512,64", converter = ShapeConverter.class,
            description = "Sizes of the random problem (Dv = D; default: ${DEFAULT-VALUE}). Ignored with --inputs.")
    private ProblemShape shape;

    @Option(names = "--heads-kv", paramLabel = "N", description = "KV heads for GQA/MQA (default: H).")
    private Integer kvHeads;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32", converter = FloatDTypeConverter.class,
            description = "float32 or bfloat16: the random q, k, v are rounded to it (default: ${DEFAULT-VALUE}).")
    private DType dtype;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "reference",
            description = "Which backend compiles the kernel (default: ${DEFAULT-VALUE}).")
    private String backendName;

    @Option(names = "--fold", description = "Compile the --param values into the kernel (constant-folded) instead of passing them at launch.")
    private boolean fold;

    @Option(names = "--offset", paramLabel = "N",
            description = "Absolute position of the first query (default: Nkv - Nq when Nq <= Nkv, else 0).")
    private Integer offset;

    @Option(names = "--inputs", paramLabel = "DIR", description = "Read q.npy, k.npy, v.npy and NAME.npy for each declared input from DIR.")
    private Path inputsFolder;

    @Option(names = "--save", paramLabel = "DIR", description = "Write the tensors used and out.npy [B,H,Nq,Dv] (and lse.npy [B,H,Nq]) to DIR.")
    private Path saveFolder;

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "1", description = "Run the kernel N times and report the fastest (default: ${DEFAULT-VALUE}).")
    private int repeat;

    @Mixin
    private InputOptions inputOptions;

    @Override
    public Integer call() throws CompileException, IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (repeat < 1) throw new UserError("--repeat must be at least 1, got " + repeat);
        Pattern pattern = Patterns.load(file);
        Backend backend = Backend.named(backendName).orElseThrow(() ->
                new UserError("unknown backend '" + backendName + "'; available: " + String.join(", ", Backend.names())));
        if (!backend.available()) throw new UserError("backend '" + backendName + "' cannot run on this machine");
        Map<String, Expr> params = Patterns.paramValues(pattern, inputOptions.params);
        Problem problem = problem(pattern, params);
        Binding binding = Binding.of(pattern, problem);
        RunReport report = new RunReport(out, pattern, file, binding, problem);
        // The reference interprets the IR at every launch: folding would change nothing there.
        Map<String, Expr> compileTime = fold && !isReference(backend) ? params : Map.of();
        report.header(inputsFolder == null ? inputOptions : null, compileTime.isEmpty() ? "launch time" : "folded at compile time: --fold");

        long compileStart = System.nanoTime();
        try (Kernel kernel = backend.compile(Passes.optimize(pattern, compileTime))) {
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
            return finish(out, pattern, problem, backend, result, report, fastest) ? 0 : 1;
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

    private Problem problem(Pattern pattern, Map<String, Expr> params) throws IOException {
        int queryOffset = offset == null ? Problem.BOTTOM_RIGHT : offset;
        if (offset != null && offset < 0) throw new UserError("--offset must be >= 0, got " + offset);
        if (inputsFolder != null) {
            NpyFolder.Tensors t = NpyFolder.read(inputsFolder, pattern);
            return new Problem(t.q(), t.k(), t.v(), t.inputs(), params, queryOffset);
        }
        int hkv = kvHeads == null ? shape.heads() : kvHeads;
        if (hkv < 1 || shape.heads() % hkv != 0) {
            throw new UserError("--heads-kv " + hkv + ": expected a divisor of H = " + shape.heads() + " (GQA/MQA)");
        }
        Random random = new Random(inputOptions.seed);
        Tensor q = Tensor.random(dtype, new int[] {shape.batch(), shape.heads(), shape.queries(), shape.headDim()}, random);
        Tensor k = Tensor.random(dtype, new int[] {shape.batch(), hkv, shape.keys(), shape.headDim()}, random);
        Tensor v = Tensor.random(dtype, new int[] {shape.batch(), hkv, shape.keys(), shape.headDim()}, random);
        Map<String, Integer> sizes = new LinkedHashMap<>(Map.of("B", shape.batch(), "H", shape.heads(), "Hkv", hkv,
                "Nq", shape.queries(), "Nkv", shape.keys(), "D", shape.headDim(), "Dv", shape.headDim()));
        sizes.putAll(RandomInputs.symbolicSizes(pattern, inputOptions.sizes));
        return new Problem(q, k, v, RandomInputs.make(pattern, sizes, random, inputOptions.intBound), params, queryOffset);
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

    static final class ShapeConverter implements CommandLine.ITypeConverter<ProblemShape> {
        @Override public ProblemShape convert(String value) { return ProblemShape.parse(value); }
    }

    static final class FloatDTypeConverter implements CommandLine.ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            if (value.equals("float32")) return DType.FLOAT32;
            if (value.equals("bfloat16")) return DType.BFLOAT16;
            throw new CommandLine.TypeConversionException("expected float32 or bfloat16, got '" + value + "'");
        }
    }
}
