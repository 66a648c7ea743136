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
        String main = classOf(json, "main"), decode = classOf(json, "decode");
        assertTrue(files.containsKey(main.replace('.', '/') + ".class"), json);
        assertTrue(files.containsKey(decode.replace('.', '/') + ".class"), json);
        Path jar = dir.resolve("causal.jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream entries = new JarOutputStream(out)) {
            for (var f : new TreeMap<>(files).entrySet()) {
                entries.putNextEntry(new JarEntry(f.getKey()));
                entries.write(f.getValue());
                entries.closeEntry();
            }
        }
        try (URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()}, JvmBackend.class.getClassLoader())) {
            JvmKernel kernel = new JvmBackend().load(pattern, loader, main, decode);
            Random r = new Random(7);
            for (int nq : new int[] {1, 150}) {
                Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, 2, nq, 32}, r),
                        Tensor.random(DType.FLOAT32, new int[] {1, 2, 150, 32}, r), Tensor.random(DType.FLOAT32, new int[] {1, 2, 150, 32}, r),
                        Map.of(), Map.of(), Problem.BOTTOM_RIGHT);
                Agreement.check(Reference.run(pattern, problem), kernel.forward(problem), "exported causal, Nq = " + nq);
            }
            assertEquals(loader, Class.forName(main, false, loader).getClassLoader(), "the main class comes from the jar");
            assertEquals(loader, Class.forName(decode, false, loader).getClassLoader(), "so does the decode class (the Nq = 1 launch)");
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

    /** kernel.json is JSON: any formatting and key order reads back. */
    @Test
    void kernelJsonIsReadAsJson() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile(Path.of("../../examples/causal.attn")), Map.of());
        Map<String, byte[]> files = new java.util.HashMap<>(new JvmBackend().export(causal));
        var parsed = com.google.gson.JsonParser.parseString(new String(files.get("kernel.json"), StandardCharsets.UTF_8)).getAsJsonObject();
        var reordered = new com.google.gson.JsonObject();
        java.util.List<String> keys = new java.util.ArrayList<>(parsed.keySet());
        java.util.Collections.reverse(keys);
        for (String key : keys) reordered.add(key, parsed.get(key));
        files.put("kernel.json", reordered.toString().getBytes(StandardCharsets.UTF_8));
        assertTrue(new String(files.get("kernel.json"), StandardCharsets.UTF_8).contains("\"layout\":2"), "compact, unlike the exporter's");
        assertTrue(new JvmBackend().load(causal, files).isPresent(), "compact JSON with keys in another order loads");
    }

    /** Kernels precompiled on a CPU with another vector width are compiled again, with one warning a process. */
    @Test
    void anotherVectorWidthIsPassedOverWithOneWarning() throws Exception {
        Pattern causal = Passes.optimize(Frontend.compile(Path.of("../../examples/causal.attn")), Map.of());
        Map<String, byte[]> files = new java.util.HashMap<>(new JvmBackend().export(causal));
        var json = com.google.gson.JsonParser.parseString(new String(files.get("kernel.json"), StandardCharsets.UTF_8)).getAsJsonObject();
        int lanes = json.get("vectorLanes").getAsInt();
        json.addProperty("vectorLanes", lanes * 2);
        files.put("kernel.json", json.toString().getBytes(StandardCharsets.UTF_8));
        java.util.List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler handler = new java.util.logging.Handler() {
            @Override public void publish(java.util.logging.LogRecord record) { warnings.add(record.getMessage()); }
            @Override public void flush() {}
            @Override public void close() {}
        };
        java.util.logging.Logger logger = java.util.logging.Logger.getLogger("attnc");
        logger.addHandler(handler);
        JvmBackend.WARNED.set(false);
        try {
            assertTrue(new JvmBackend().load(causal, files).isEmpty());
            assertTrue(new JvmBackend().load(causal, files).isEmpty());
        } finally {
            logger.removeHandler(handler);
        }
        assertEquals(1, warnings.size(), warnings.toString());
        assertEquals("attnc: the precompiled jvm kernel of pattern 'causal' is not used because it was generated for a CPU with "
                + lanes * 2 + " float lanes per vector, and this CPU has " + lanes + "; it is compiled at run time instead"
                + " (later kernels passed over for the same kind of reason are not reported)", warnings.getFirst());
    }

    private static String classOf(String json, String role) {
        Matcher m = java.util.regex.Pattern.compile("\"" + role + "\": \"([A-Za-z0-9_.]+)\"").matcher(json);
        assertTrue(m.find(), role + " class in " + json);
        return m.group(1);
    }
}
