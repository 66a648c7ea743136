package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code attnc export --target torch}: one package folder per pattern holding exactly the
 * runtime, the generated {@code __init__.py}, the manifest and every PTX module it names; every
 * {@code .py} compiles; and {@code torch_plan_check.py} (no torch, no GPU) plans every launch of
 * every entry for several GPUs and shapes (and ragged batches) from the package's own {@code _plan.py},
 * checking each packed argument list against the entry's parameters in the PTX; and, where a torch
 * (CPU-only is enough) can be imported, {@code torch_meta_check.py} runs each op forward and backward
 * on meta tensors. What needs a GPU is bench/gpu/run_torch.sh.
 */
class TorchExportTest {
    private static final List<String> PATTERNS = List.of("dense", "causal", "alibi", "document", "gated", "softmax_sink", "topk_blocks",
            "sigmoid_attention");

    @Test
    void eachPatternBecomesAPackageWhoseLaunchesAllPlan(@TempDir Path dir) throws Exception {
        List<Path> packages = new ArrayList<>();
        for (String pattern : PATTERNS) {
            Cli cli = Cli.run("export", Cli.EXAMPLES.resolve(pattern + ".attn").toString(), "--target", "torch", "-o", dir.toString());
            assertEquals(0, cli.exitCode(), cli.transcript());
            String name = pattern.endsWith("attention") ? pattern : pattern + "_attention";
            assertTrue(cli.out().contains("import " + name), cli.transcript());
            Path pkg = dir.resolve(name);
            JsonObject manifest = JsonParser.parseString(Files.readString(pkg.resolve("manifest.json"))).getAsJsonObject();
            assertEquals("torch", manifest.get("target").getAsString());
            Set<String> expected = new TreeSet<>(Set.of("__init__.py", "_cuda.py", "_op.py", "_plan.py", "_ragged.py", "manifest.json"));
            JsonObject kernel = manifest.getAsJsonObject("kernel");
            for (var v : kernel.getAsJsonArray("variants")) expected.add(v.getAsJsonObject().get("file").getAsString());
            for (var v : kernel.getAsJsonObject("backward").getAsJsonArray("variants")) expected.add(v.getAsJsonObject().get("file").getAsString());
            for (var v : kernel.getAsJsonObject("decode").getAsJsonArray("variants")) expected.add(v.getAsJsonObject().get("file").getAsString());
            for (var v : kernel.getAsJsonObject("ragged").getAsJsonArray("variants")) expected.add(v.getAsJsonObject().get("file").getAsString());
            // Patterns with input gradients (ALiBi's slopes) also carry a backward giving q, k and v's only.
            boolean inputGradients = kernel.getAsJsonObject("backward").getAsJsonArray("gradients").asList().stream()
                    .anyMatch(g -> g.getAsString().startsWith("p_grad_"));
            assertEquals(inputGradients, kernel.has("backward_operands"), pattern);
            // dK and dV come out of the kernel in bf16, written whole (never zeroed first); the summed gradients stay float32.
            JsonObject backward = kernel.getAsJsonObject("backward");
            for (var g : backward.getAsJsonArray("gradients")) {
                String gradient = g.getAsString();
                boolean keys = gradient.equals("p_dk") || gradient.equals("p_dv");
                assertEquals(keys ? "bfloat16" : "float32", backward.getAsJsonObject("gradient_dtypes").get(gradient).getAsString(), pattern + " " + gradient);
                assertEquals(!keys, backward.getAsJsonArray("zeroed").asList().stream().anyMatch(z -> z.getAsString().equals(gradient)), pattern + " " + gradient);
            }
            assertEquals(pattern.equals("alibi"), pattern.equals("alibi") && inputGradients, "ALiBi's slopes get a gradient");
            if (kernel.has("backward_operands")) {
                for (var v : kernel.getAsJsonObject("backward_operands").getAsJsonArray("variants")) expected.add(v.getAsJsonObject().get("file").getAsString());
            }
            assertEquals(expected, files(pkg), pattern);
            packages.add(pkg);
        }
        assertEquals(new TreeSet<>(packages.stream().map(p -> p.getFileName().toString()).toList()), files(dir), "nothing beside the packages");

        List<String> compile = new ArrayList<>(List.of("-m", "py_compile"));
        for (Path pkg : packages) for (String f : files(pkg)) if (f.endsWith(".py")) compile.add(pkg.resolve(f).toString());
        python(dir, compile);

        Path checker = resource(dir, "torch_plan_check.py");
        List<String> check = new ArrayList<>(List.of(checker.toString()));
        packages.forEach(p -> check.add(p.toString()));
        String out = python(dir, check);
        assertTrue(out.lines().anyMatch(l -> l.equals("ok Launch")), out);
        assertEquals(PATTERNS.size() + 1, out.lines().filter(l -> l.startsWith("ok ")).count(), out);
    }

    /**
     * The ops' fake implementations and autograd formulas, on a CPU-only torch: forward and backward on meta
     * tensors and a forward under FakeTensorMode ({@code torch_meta_check.py}), for patterns with and without
     * inputs, input gradients, integer ids and a sink. The torch is the one {@code ATTNC_TEST_TORCH} names (a
     * folder {@code .ci/run} installs a local wheel into) or python3's own; without one the test is reported
     * skipped, not passed.
     */
    @Test
    void eachOpRunsForwardAndBackwardOnMetaTensorsWithoutAGpu(@TempDir Path dir) throws Exception {
        Map<String, String> env = new HashMap<>();
        String site = System.getenv("ATTNC_TEST_TORCH");
        if (site != null && !site.isBlank()) env.put("PYTHONPATH", site);
        Assumptions.assumeTrue(run(dir, env, List.of("-c", "import torch")).exitCode() == 0,
                "no torch to import (set ATTNC_TEST_TORCH to a folder holding one, or install it for python3)");
        List<String> check = new ArrayList<>(List.of(resource(dir, "torch_meta_check.py").toString()));
        List<String> patterns = List.of("causal", "alibi", "document", "gated", "softmax_sink");
        for (String pattern : patterns) {
            Cli cli = Cli.run("export", Cli.EXAMPLES.resolve(pattern + ".attn").toString(), "--target", "torch", "-o", dir.toString());
            assertEquals(0, cli.exitCode(), cli.transcript());
            check.add(dir.resolve(pattern + "_attention").toString());
        }
        Ran ran = run(dir, env, check);
        assertEquals(0, ran.exitCode(), ran.out());
        assertEquals(patterns.size(), ran.out().lines().filter(l -> l.startsWith("ok ") && l.contains("meta forward and backward")).count(), ran.out());
        assertTrue(ran.out().contains("ok alibi_attention: meta forward and backward (q, k, v, slopes)"), ran.out());
    }

    @Test
    void aNewExportReplacesTheOldAndAFolderAttncDidNotWriteIsLeftAlone(@TempDir Path dir) throws Exception {
        String causal = Cli.EXAMPLES.resolve("causal.attn").toString();
        assertEquals(0, Cli.run("export", causal, "--target", "torch", "-o", dir.toString()).exitCode());
        Files.writeString(dir.resolve("causal_attention/stale.ptx"), "old");
        Cli again = Cli.run("export", causal, "--target", "torch", "-o", dir.toString());
        assertEquals(0, again.exitCode(), again.transcript());
        assertFalse(Files.exists(dir.resolve("causal_attention/stale.ptx")), "the earlier export is replaced whole");

        Path foreign = Files.createDirectories(dir.resolve("other/dense_attention"));
        Files.writeString(foreign.resolve("mine.txt"), "keep");
        Cli refused = Cli.run("export", Cli.EXAMPLES.resolve("dense.attn").toString(), "--target", "torch", "-o", dir.resolve("other").toString());
        assertEquals(1, refused.exitCode(), refused.transcript());
        assertTrue(refused.err().contains("exists and is not a package attnc exported"), refused.transcript());
        assertFalse(refused.showsStackTrace(), refused.transcript());
        assertEquals(Set.of("mine.txt"), files(foreign));
        assertEquals(Set.of("dense_attention"), files(dir.resolve("other")), "no staging folder left behind");
    }

    private static Set<String> files(Path dir) throws Exception {
        try (Stream<Path> list = Files.list(dir)) {
            return new TreeSet<>(list.map(p -> p.getFileName().toString()).filter(n -> !n.equals("__pycache__")).toList());
        }
    }

    private static String python(Path dir, List<String> args) throws Exception {
        Ran ran = run(dir, Map.of(), args);
        assertEquals(0, ran.exitCode(), "python3 " + String.join(" ", args) + " failed (this test needs python3 on PATH):\n" + ran.out());
        return ran.out();
    }

    private record Ran(int exitCode, String out) {}

    private static Ran run(Path dir, Map<String, String> env, List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of("python3"));
        command.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "python3 did not finish");
        return new Ran(p.exitValue(), out);
    }

    private static Path resource(Path dir, String name) throws Exception {
        Path file = dir.resolve(name);
        try (InputStream in = TorchExportTest.class.getResourceAsStream(name)) {
            Files.write(file, in.readAllBytes());
        }
        return file;
    }
}
