package attnc.cli;

import attnc.analysis.BlockSparsity;
import attnc.front.CompileException;
import attnc.grad.DifferentiatePattern;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Tile;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.lower.LowerPattern;
import attnc.pass.Passes;
import attnc.run.Backend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attnc explain FILE}: what the compiler made of a pattern: its doc, params, inputs, the
 * IR after the passes (with {@code --param} values folded in, as a backend would get them), the
 * lowered stage every backend reads and the derivatives the backward reads, and the tile classes
 * of a launch: a seeded random one ({@code --n}, {@code --size}, {@code
 * --int-max}, {@code --seed}) or the one in {@code --inputs}.
 */
@Command(name = "explain", description = "Shows a pattern's params, inputs, its IR after optimisation and its tile classes (block sparsity).")
final class ExplainCommand implements Callable<Integer> {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The .attn pattern file.")
    private Path file;

    @Option(names = "--param", paramLabel = "NAME=VALUE",
            description = "Fixes a param at compile time: it is folded into the IR shown.")
    private Map<String, String> params = new LinkedHashMap<>();

    @Option(names = "--n", paramLabel = "N", defaultValue = "1024",
            description = "Sequence length of the launch the tile classes are shown for (default: ${DEFAULT-VALUE}).")
    private int positions;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "2", description = "Heads of that launch (default: ${DEFAULT-VALUE}).")
    private int heads;

    @Option(names = "--inputs", paramLabel = "DIR",
            description = "Show the tile classes of the launch in DIR (q.npy, k.npy, v.npy and NAME.npy per input) instead of a random one.")
    private Path inputsFolder;

    @CommandLine.Mixin
    private RandomData random;

    @Override
    public Integer call() throws CompileException, java.io.IOException {
        PrintWriter out = spec.commandLine().getOut();
        Pattern loaded = Patterns.load(file);
        Map<String, Expr> compileTime = Patterns.paramValues(loaded, params);
        Pattern pattern = Patterns.withFixed(file, loaded, compileTime);
        Pattern optimized = Passes.optimize(pattern, compileTime);

        out.println("pattern " + pattern.name() + " (" + file + ")");
        if (!pattern.doc().isEmpty()) pattern.doc().lines().forEach(line -> out.println("  " + line));
        out.println();
        printParams(out, pattern, compileTime);
        printInputs(out, pattern);
        out.println("normalisation: " + Printer.norm(optimized.norm()));
        optimized.tile().ifPresent(t -> out.println("tile: q = " + t.q() + ", kv = " + t.kv()));
        out.println();
        out.println("IR after passes" + (compileTime.isEmpty() ? "" : " (folded: " + assignments(compileTime) + ")") + ":");
        Printer.pattern(optimized.withDoc("")).lines().forEach(line -> out.println("  " + line));
        out.println();
        out.println("lowered (what every backend reads: the live registers, each with the level it varies at):");
        LowerPattern.lower(optimized).describe().lines().forEach(line -> out.println("  " + line));
        out.println();
        out.println("derivatives (what the backward reads):");
        DifferentiatePattern.differentiate(optimized).text().lines().forEach(line -> out.println("  " + line));
        out.println();
        printBlockSparsity(out, optimized, compileTime);
        return 0;
    }

    private static void printParams(PrintWriter out, Pattern pattern, Map<String, Expr> compileTime) {
        out.println("params:" + (pattern.params().isEmpty() ? " none" : ""));
        for (Param p : pattern.params()) {
            String value = compileTime.containsKey(p.name())
                    ? " = " + Printer.expr(compileTime.get(p.name())) + " (fixed at compile time)"
                    : p.defaultValue().map(v -> " = " + Printer.expr(v) + " (default; settable at launch)").orElse(" (no default: required at launch)");
            out.println("  " + p.name() + ": " + p.type() + value + docSuffix(p.doc()));
        }
        out.println();
    }

    private static void printInputs(PrintWriter out, Pattern pattern) {
        out.println("inputs:" + (pattern.inputs().isEmpty() ? " none" : ""));
        for (Input input : pattern.inputs()) {
            String shape = input.shape().stream().map(Printer::expr).collect(Collectors.joining(", ", "[", "]"));
            out.println("  " + input.name() + ": " + input.dtype() + shape + docSuffix(input.doc()));
        }
        out.println();
    }

    /**
     * The tile analysis on a self-attention launch of {@code --n} positions (b = 0..1, {@code
     * --heads} heads, seeded random inputs for masks that read data): tile counts, the fraction of
     * tiles a kernel visits, and the brute-force truth beside them, so looseness shows.
     */
    private void printBlockSparsity(PrintWriter out, Pattern optimized, Map<String, Expr> compileTime) throws java.io.IOException {
        if (positions < 1 || heads < 1) throw new UserError("--n and --heads must be positive");
        Map<String, Expr> launchParams = new LinkedHashMap<>();
        for (Param p : optimized.params()) p.defaultValue().ifPresent(v -> launchParams.put(p.name(), v));
        if (launchParams.size() < optimized.params().size()) {
            out.println("block sparsity: needs values for params without defaults (pass --param)");
            return;
        }
        Problem problem;
        String launch;
        if (inputsFolder != null) {
            NpyFolder.Tensors t = NpyFolder.read(inputsFolder, optimized);
            problem = new Problem(t.q(), t.k(), t.v(), t.inputs(), launchParams, Problem.BOTTOM_RIGHT);
            launch = "the launch in " + inputsFolder;
        } else {
            problem = ProbeLaunch.problem(optimized, launchParams, new Random(random.seed), 2, heads, positions, 16, 16,
                    random.sizes, random.intBound);
            launch = "B=2, H=" + heads + ", N=" + positions + (optimized.inputs().isEmpty() ? "" : ", seeded random inputs");
        }
        int tileQ = optimized.tile().map(Tile::q).orElse(64);
        int tileKv = optimized.tile().map(Tile::kv).orElse(64);
        Binding binding = ProbeLaunch.bind(optimized, problem, inputsFolder == null);
        BlockSparsity.Summary summary = BlockSparsity.summarize(optimized, binding, problem.inputs(), tileQ, tileKv, BlockSparsity.DEFAULT_LIMIT);
        out.println("block sparsity (" + launch + "):");
        summary.text().lines().forEach(line -> out.println("  " + line));
        if (summary.grid().qTiles() <= 64 && summary.grid().kvTiles() <= 64) {
            out.println("  tiles of (b=0, h=0): '#' FULL, '+' PARTIAL, '.' EMPTY");
            summary.plot().lines().forEach(line -> out.println("    " + line));
        }
        out.println();
        out.println("runs as (this launch, by head dim):");
        for (int headDim : new int[] {64, 128}) {
            Map<String, Integer> sizes = new LinkedHashMap<>(binding.sizes());
            sizes.put("D", headDim);
            sizes.put("Dv", headDim);
            Binding atHeadDim = new Binding(Map.copyOf(sizes), binding.queryOffset(), binding.params());
            for (String name : Backend.names()) {
                Backend.named(name).flatMap(backend -> backend.plan(optimized, atHeadDim))
                        .ifPresent(plan -> out.println("  D = " + headDim + ", " + name + ": " + plan));
            }
        }
    }

    private static String docSuffix(String doc) {
        return doc.isEmpty() ? "" : "  -- " + doc.replace("\n", " ");
    }

    private static String assignments(Map<String, Expr> values) {
        return values.entrySet().stream().map(e -> e.getKey() + "=" + Printer.expr(e.getValue())).collect(Collectors.joining(", "));
    }
}
