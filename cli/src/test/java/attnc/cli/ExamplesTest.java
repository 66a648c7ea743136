package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.tensor.Npy;
import attnc.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** Every file in examples/ checks; every pattern among them explains, runs on the reference and plots. */
class ExamplesTest {
    private static final String SMALL_SHAPE = "1,2,70,70,16";

    @TempDir
    Path temp;

    static List<Path> exampleFiles() throws IOException {
        try (Stream<Path> files = Files.walk(Cli.EXAMPLES)) {
            return files.filter(p -> p.toString().endsWith(".attn")).sorted().toList();
        }
    }

    @Test
    void theExamplesCoverThePatternList() throws IOException {
        List<Path> files = exampleFiles();
        assertTrue(files.size() >= 25, "expected at least 24 patterns and a library in " + Cli.EXAMPLES + ", found " + files);
        for (String name : List.of("dense", "causal", "sliding_window", "prefix_lm", "chunked", "dilated", "sinks_window",
                "neighborhood_1d", "neighborhood_2d", "neighborhood_3d", "power_attention", "radial", "stripes", "document",
                "padding", "topk_blocks", "per_head", "alibi", "t5_bias", "softcap", "additive_bias", "low_rank_bias",
                "temperature", "sigmoid_attention", "softmax_sink", "decayed_linear", "gated", "headwise_gate")) {
            assertTrue(Files.isRegularFile(Cli.EXAMPLES.resolve(name + ".attn")), "missing example " + name + ".attn");
        }
    }

    @TestFactory
    List<DynamicContainer> everyExample() throws IOException {
        List<DynamicContainer> containers = new ArrayList<>();
        for (Path file : exampleFiles()) {
            String name = Cli.EXAMPLES.relativize(file).toString();
            Optional<Pattern> pattern = patternOf(file);
            List<DynamicTest> tests = new ArrayList<>();
            tests.add(DynamicTest.dynamicTest("check", () -> check(file, pattern.isEmpty())));
            tests.add(DynamicTest.dynamicTest("has a file doc", () -> assertTrue(Files.readString(file).startsWith("//!"), name)));
            if (pattern.isPresent()) {
                tests.add(DynamicTest.dynamicTest("explain", () -> explain(file, pattern.get())));
                tests.add(DynamicTest.dynamicTest("run", () -> run(file, pattern.get(), temp.resolve(pattern.get().name()))));
                tests.add(DynamicTest.dynamicTest("plot", () -> plot(file)));
            }
            containers.add(DynamicContainer.dynamicContainer(name, tests));
        }
        return containers;
    }

    /** The file's pattern; empty for a library, and for a file with errors, whose "check" test then fails. */
    private static Optional<Pattern> patternOf(Path file) {
        try {
            return Frontend.check(file);
        } catch (CompileException e) {
            return Optional.empty();
        }
    }

    private static void check(Path file, boolean library) {
        Cli cli = Cli.run("check", file.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertEquals(file + ": ok" + (library ? " (library)" : "") + "\n", cli.out().replace("\r", ""), cli.transcript());
        assertEquals("", cli.err(), cli.transcript());
    }

    private static void explain(Path file, Pattern pattern) {
        Cli cli = Cli.run("explain", file.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("pattern " + pattern.name()), cli.transcript());
        assertTrue(cli.out().contains("IR after passes:\n"), cli.transcript());
        assertTrue(cli.out().contains("  mask: "), cli.transcript());
        assertTrue(cli.out().contains("block sparsity ("), cli.transcript());
        assertTrue(cli.out().contains("derived:") || cli.out().contains("needs values"), cli.transcript());
        pattern.params().forEach(p -> assertTrue(cli.out().contains("  " + p.name() + ": " + p.type()), p.name() + "\n" + cli.transcript()));
        pattern.inputs().forEach(i -> assertTrue(cli.out().contains("  " + i.name() + ": " + i.dtype()), i.name() + "\n" + cli.transcript()));
    }

    private static void run(Path file, Pattern pattern, Path saved) throws IOException {
        Cli cli = Cli.run("run", file.toString(), "--shape", SMALL_SHAPE, "--seed", "7", "--save", saved.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        assertTrue(cli.out().contains("backend   jvm:"), cli.transcript());
        assertTrue(cli.out().contains("ok        within tolerance"), "the generated kernel agrees with the reference\n" + cli.transcript());
        assertTrue(cli.out().contains("GFLOP/s"), cli.transcript());
        Tensor out = Npy.read(saved.resolve("out.npy"));
        assertEquals("[1, 2, 70, 16]", out.shapeText());
        for (float x : out.floats()) assertTrue(Float.isFinite(x), "non-finite output in " + file);
        Path lse = saved.resolve("lse.npy");
        if (pattern.norm() instanceof Norm.Softmax) {
            Tensor l = Npy.read(lse);
            assertEquals("[1, 2, 70]", l.shapeText());
            for (float x : l.floats()) assertFalse(Float.isNaN(x), "NaN LSE in " + file);
        } else {
            assertFalse(Files.exists(lse), "no LSE exists without softmax");
        }
        for (var input : pattern.inputs()) assertTrue(Files.isRegularFile(saved.resolve(input.name() + ".npy")), input.name());
    }

    private void plot(Path file) throws Exception {
        Path png = temp.resolve(file.getFileName() + ".png");
        Cli cli = Cli.run("plot", file.toString(), "--n", "70", "-o", png.toString());
        assertEquals(0, cli.exitCode(), cli.transcript());
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "not a readable PNG: " + png);
        // 70 cells of 512 / 70 = 7 pixels each.
        assertEquals(490, image.getWidth());
        assertEquals(490, image.getHeight());
        boolean readsInputs = !Frontend.compile(file).inputs().isEmpty();
        assertEquals(readsInputs, cli.out().contains("inputs are seeded random (seed 0)"), cli.transcript());
    }
}
