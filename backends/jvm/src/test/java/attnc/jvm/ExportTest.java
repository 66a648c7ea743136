package attnc.jvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.tensor.Tensor;
import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Exported class files, packed into a jar and loaded by a class loader of their own, still agree with the reference. */
class ExportTest {

    @Test
    void exportedClassesLoadFromAJarAndAgree(@TempDir Path dir) throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(Path.of("../../examples/causal.attn")), Map.of());
        Map<String, byte[]> files = new JvmBackend().export(pattern);
        String json = new String(files.get("kernel.json"), StandardCharsets.UTF_8);
        String main = classOf(json, "main"), narrow = classOf(json, "narrow");
        assertTrue(files.containsKey(main.replace('.', '/') + ".class"), json);
        assertTrue(files.containsKey(narrow.replace('.', '/') + ".class"), json);
        Path jar = dir.resolve("causal.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream entries = new JarOutputStream(out)) {
            for (var f : new TreeMap<>(files).entrySet()) {
                entries.putNextEntry(new JarEntry(f.getKey()));
                entries.write(f.getValue());
                entries.closeEntry();
            }
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, JvmBackend.class.getClassLoader())) {
            JvmKernel kernel = new JvmBackend().load(pattern, loader, main, narrow);
            Random r = new Random(7);
            for (int nq : new int[] {1, 150}) {
                Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 2, nq, 32}, r),
                        Tensor.random(DType.FLOAT32, new int[] {1, 2, 150, 32}, r), Tensor.random(DType.FLOAT32, new int[] {1, 2, 150, 32}, r),
                        Map.of(), Map.of(), Problem.BOTTOM_RIGHT);
                Agreement.check(Reference.run(pattern, problem), kernel.forward(problem), "exported causal, Nq = " + nq);
            }
            assertEquals(loader, Class.forName(main, false, loader).getClassLoader(), "the main class comes from the jar");
        }
    }

    /** The path the Maven plugin's precompiled resources take: {@code load(pattern, files)}. */
    @Test
    void exportedFilesLoadBackForTheirPatternOnly() throws Exception {
        Pattern window = Passes.optimize(Frontend.compile(Path.of("../../examples/sliding_window.attn")), Map.of());
        Pattern causal = Passes.optimize(Frontend.compile(Path.of("../../examples/causal.attn")), Map.of());
        Map<String, byte[]> files = new JvmBackend().export(window);
        assertTrue(new JvmBackend().load(causal, files).isEmpty(), "another pattern's classes are refused");
        var kernel = new JvmBackend().load(window, files).orElseThrow();
        Random r = new Random(11);
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 2, 70, 16}, r),
                Tensor.random(DType.FLOAT32, new int[] {1, 1, 200, 16}, r), Tensor.random(DType.FLOAT32, new int[] {1, 1, 200, 16}, r),
                Map.of(), Map.of("window", new attnc.ir.Expr.IntLit(40)), Problem.BOTTOM_RIGHT);
        Agreement.check(Reference.run(window, problem), kernel.forward(problem), "loaded sliding window");
    }

    private static String classOf(String json, String role) {
        Matcher m = java.util.regex.Pattern.compile("\"" + role + "\": \"([A-Za-z0-9_.]+)\"").matcher(json);
        assertTrue(m.find(), role + " class in " + json);
        return m.group(1);
    }
}
