package attnc.cli;

import attnc.front.CompileException;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.pass.Passes;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attnc explain FILE}: what the compiler made of a pattern: its doc, params, inputs and
 * the IR after the passes (with {@code --param} values folded in, as a backend would get them).
 */
@Command(name = "explain", description = "Shows a pattern's params, inputs and its IR after optimisation.")
final class ExplainCommand implements Callable<Integer> {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The .attn pattern file.")
    private Path file;

    @Option(names = "--param", paramLabel = "NAME=VALUE",
            description = "Fixes a param at compile time: it is folded into the IR shown.")
    private Map<String, String> params = new LinkedHashMap<>();

    @Override
    public Integer call() throws CompileException {
        PrintWriter out = spec.commandLine().getOut();
        Pattern pattern = Patterns.load(file);
        Map<String, Expr> compileTime = Patterns.paramValues(pattern, params);
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
        printBlockSparsity(out, optimized);
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
     * The place for the tile analysis: how many tiles are EMPTY, FULL and PARTIAL and the KV range
     * per query block. Nothing is printed but the heading until that analysis exists.
     */
    private static void printBlockSparsity(PrintWriter out, Pattern optimized) {
        out.println("block sparsity:");
        out.println("  not computed yet (the tile classification pass is not wired into explain)");
    }

    private static String docSuffix(String doc) {
        return doc.isEmpty() ? "" : "  -- " + doc.replace("\n", " ");
    }

    private static String assignments(Map<String, Expr> values) {
        return values.entrySet().stream().map(e -> e.getKey() + "=" + Printer.expr(e.getValue())).collect(Collectors.joining(", "));
    }
}
