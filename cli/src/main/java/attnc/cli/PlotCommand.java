package attnc.cli;

import attnc.front.CompileException;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Pattern;
import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Callable;
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

    @Mixin
    private InputOptions inputOptions;

    @Override
    public Integer call() throws CompileException, IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (positions < 1 || positions > 4096) throw new UserError("--n must be within 1..4096, got " + positions);
        if (heads < 1 || head < 0 || head >= heads) throw new UserError("--head " + head + " must be within 0.." + (heads - 1) + " (--heads " + heads + ")");
        OutputPaths.requireFile("-o", output);
        Pattern pattern = Patterns.load(file);
        Problem problem = probeProblem(pattern, Patterns.paramValues(pattern, inputOptions.params));
        boolean[][] visible = MaskProbe.grid(pattern, problem, 0, head);
        long count = 0;
        for (boolean[] row : visible) for (boolean cell : row) if (cell) count++;
        String title = pattern.name() + ": mask at b=0, h=" + head + ", " + positions + "x" + positions
                + " (queries down, keys across)" + inputsNote(pattern);
        MaskImage.writePng(MaskImage.render(visible, tileClasses(pattern, problem)), output, title);
        out.println("wrote " + output + ": " + title);
        out.printf(Locale.ROOT, "visible %.2f%% of %d cells; image %dx%d pixels, grid lines every %d positions%n",
                100.0 * count / ((long) positions * positions), (long) positions * positions,
                positions * MaskImage.cellPixels(positions), positions * MaskImage.cellPixels(positions), MaskImage.GRID);
        return 0;
    }

    /** The tile analysis's classes of this head, drawn under the mask in tiles of {@link MaskImage#GRID}. */
    private Optional<TileClasses> tileClasses(Pattern pattern, Problem problem) {
        TileClassifier classifier = ClassifyTiles.classifier(pattern, Binding.of(pattern, problem), problem.inputs(),
                MaskImage.GRID, MaskImage.GRID);
        int drawn = head;
        return Optional.of(new TileClasses() {
            @Override public int tileQ() { return MaskImage.GRID; }

            @Override public int tileKv() { return MaskImage.GRID; }

            @Override
            public TileClass classOf(int queryTile, int keyTile) {
                return TileClass.valueOf(classifier.classify(0, drawn, queryTile, keyTile).name());
            }
        });
    }

    /** A self-attention problem of n positions with the Dv {@link MaskProbe#grid} needs. */
    private Problem probeProblem(Pattern pattern, Map<String, Expr> params) {
        return ProbeLaunch.problem(pattern, params, new Random(inputOptions.seed), 1, heads, positions, HEAD_DIM,
                MaskProbe.gridValueDim(positions), inputOptions.sizes, inputOptions.intBound);
    }

    private String inputsNote(Pattern pattern) {
        if (pattern.inputs().isEmpty()) return "";
        StringBuilder note = new StringBuilder("; inputs are seeded random (seed " + inputOptions.seed + "):");
        for (Input input : pattern.inputs()) {
            note.append(' ').append(input.name()).append(' ').append(RandomInputs.describe(input.dtype(), inputOptions.intBound)).append(';');
        }
        note.setLength(note.length() - 1);
        return note.toString();
    }
}
