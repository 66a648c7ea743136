package attnc.cli;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClass;
import attnc.analysis.TileClassifier;
import attnc.front.CompileException;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code attnc plot FILE -o mask.png}: the mask (with the selection) of batch 0 and one head over
 * an n × n grid of query and key positions, queries down, keys across.
 */
@Command(name = "plot", description = {
        "Draws a pattern's mask for b = 0 as a PNG: queries down, keys across, visible cells dark, grid lines every 64.",
        "Masks that read inputs are drawn on seeded random inputs (see --seed, --int-max) unless given real ones."})
final class PlotCommand implements Callable<Integer> {
    private static final int HEAD_DIM = 16;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "The .attn pattern file.")
    private Path file;

    @Option(names = "--n", paramLabel = "N", defaultValue = "256", description = "Query and key positions drawn (default: ${DEFAULT-VALUE}).")
    private int positions;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "1", description = "H of the problem the mask is evaluated in (default: ${DEFAULT-VALUE}).")
    private int heads;

    @Option(names = "--head", paramLabel = "h", defaultValue = "0", description = "Which head to draw (default: ${DEFAULT-VALUE}).")
    private int head;

    @Option(names = {"-o", "--output"}, paramLabel = "PNG", required = true, description = "Where to write the image.")
    private Path output;

    @Option(names = "--inputs", paramLabel = "DIR",
            description = "Draw the launch in DIR (q.npy, k.npy, v.npy and NAME.npy per input; their sizes replace --n and --heads).")
    private Path inputsFolder;

    @Mixin
    private InputOptions inputOptions;

    @Override
    public Integer call() throws CompileException, IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (positions < 1 || positions > 4096) throw new UserError("--n must be within 1..4096, got " + positions);
        if (heads < 1 || head < 0 || head >= heads) throw new UserError("--head " + head + " must be within 0.." + (heads - 1) + " (--heads " + heads + ")");
        OutputPaths.requireFile("-o", output);
        Pattern pattern = Patterns.load(file);
        Map<String, Expr> params = Patterns.paramValues(pattern, inputOptions.params);
        Problem problem = inputsFolder != null ? fileProblem(pattern, params) : probeProblem(pattern, params);
        Binding binding = ProbeLaunch.bind(pattern, problem, inputsFolder == null);
        int rows = problem.q().dim(2), columns = problem.k().dim(2);
        boolean[][] visible = VisibleElements.grid(pattern, binding, problem.inputs(), 0, head);
        long count = 0;
        for (boolean[] row : visible) for (boolean cell : row) if (cell) count++;
        String title = pattern.name() + ": mask at b=0, h=" + head + ", " + rows + "x" + columns
                + " (queries down, keys across)" + inputsNote(pattern);
        MaskImage.writePng(MaskImage.render(visible, Optional.of(tileClasses(pattern, binding, problem))), output, title);
        out.println("wrote " + output + ": " + title);
        int cell = MaskImage.cellPixels(Math.max(rows, columns));
        out.printf(Locale.ROOT, "visible %.2f%% of %d cells; image %dx%d pixels, grid lines every %d positions%n",
                100.0 * count / ((long) rows * columns), (long) rows * columns, columns * cell, rows * cell, MaskImage.GRID);
        return 0;
    }

    /** The launch in --inputs. */
    private Problem fileProblem(Pattern pattern, Map<String, Expr> params) throws IOException {
        NpyFolder.Tensors t = NpyFolder.read(inputsFolder, pattern);
        int nq = t.q().dim(2), nkv = t.k().dim(2);
        if (nq > 4096 || nkv > 4096) throw new UserError("--inputs " + inputsFolder + ": Nq x Nkv = " + nq + " x " + nkv + "; plot draws at most 4096 x 4096");
        if (head >= t.q().dim(1)) throw new UserError("--head " + head + " must be within 0.." + (t.q().dim(1) - 1) + " (H of " + inputsFolder + ")");
        return new Problem(t.q(), t.k(), t.v(), t.inputs(), params, Problem.BOTTOM_RIGHT);
    }

    /** The tile analysis's classes of this head, drawn under the mask in tiles of {@link MaskImage#GRID}. */
    private BiFunction<Integer, Integer, TileClass> tileClasses(Pattern pattern, Binding binding, Problem problem) {
        TileClassifier classifier = ClassifyTiles.classifier(pattern, binding, problem.inputs(), MaskImage.GRID, MaskImage.GRID);
        int drawn = head;
        return (queryTile, keyTile) -> classifier.classify(0, drawn, queryTile, keyTile);
    }

    /** A self-attention problem of n positions. */
    private Problem probeProblem(Pattern pattern, Map<String, Expr> params) {
        return ProbeLaunch.problem(pattern, params, new Random(inputOptions.random.seed), 1, heads, positions, HEAD_DIM, HEAD_DIM,
                inputOptions.random.sizes, inputOptions.random.intBound);
    }

    private String inputsNote(Pattern pattern) {
        if (pattern.inputs().isEmpty()) return "";
        if (inputsFolder != null) return "; inputs from " + inputsFolder;
        StringBuilder note = new StringBuilder("; inputs are seeded random (seed " + inputOptions.random.seed + "):");
        for (Input input : pattern.inputs()) {
            note.append(' ').append(input.name()).append(' ').append(RandomInputs.describe(input.dtype(), inputOptions.random.intBound)).append(';');
        }
        note.setLength(note.length() - 1);
        return note.toString();
    }
}
