package attnc.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generation is byte-for-byte reproducible. Unordered maps iterate in an order seeded per JVM, so
 * the second generation runs in a JVM of its own (the one the Maven plugin starts), with
 * precompiled JVM kernels: three files per pattern whose order once came from such a map.
 */
class ReproducibleGenerationTest {
    @TempDir Path dir;

    @Test
    void twoGenerationsInTwoJvmsWriteTheSameBytes() throws Exception {
        Path sources = dir.resolve("attn");
        Files.createDirectories(sources.resolve("nested"));
        Files.writeString(sources.resolve("window.attn"), "//! A window.\nparam w: int = 64\nmask: q >= kv && q - kv < w\n");
        Files.writeString(sources.resolve("nested/doc.attn"), "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]\n");

        Generation.Settings here = Generation.Settings.of(sources, dir.resolve("a/java"), dir.resolve("a/res"), "gen", List.of("jvm"));
        assertEquals(List.of(), new Generation(here).run().errorLines());

        Path request = dir.resolve("request.json");
        Files.writeString(request, """
                {"sources": "%s", "javaOutput": "%s", "resourceOutput": "%s", "packageName": "gen", "precompile": ["jvm"],
                 "toolVersion": "dev"}
                """.formatted(json(sources), json(dir.resolve("b/java")), json(dir.resolve("b/res"))));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                GenerationMain.class.getName(), request.toString(), dir.resolve("result.json").toString())
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), output);
        assertEquals(0, child.exitValue(), output);

        Map<String, byte[]> a = files(dir.resolve("a")), b = files(dir.resolve("b"));
        assertEquals(a.keySet(), b.keySet());
        assertTrue(a.keySet().stream().anyMatch(f -> f.endsWith(".class")), "precompiled kernels are among the compared files: " + a.keySet());
        for (String file : a.keySet()) assertArrayEquals(a.get(file), b.get(file), file + " differs between the two JVMs");
    }

    /** The generator orders what it is given: a map in any order gives the same wrapper. */
    @Test
    void precompiledResourcesAreListedInOneOrder() throws Exception {
        var pattern = Frontend.compile("t.attn", "mask: q >= kv\n");
        Map<String, List<String>> forward = new LinkedHashMap<>(), backward = new LinkedHashMap<>();
        forward.put("jvm", List.of("a/K.class", "a/N.class", "kernel.json"));
        forward.put("ptx", List.of("kernel.json", "t.ptx"));
        backward.put("ptx", List.of("t.ptx", "kernel.json"));
        backward.put("jvm", List.of("kernel.json", "a/N.class", "a/K.class"));
        String one = WrapperGenerator.generate(pattern, "p", "t.attn", "0", forward).toString();
        String other = WrapperGenerator.generate(pattern, "p", "t.attn", "0", backward).toString();
        assertEquals(one, other);
        assertTrue(one.contains("Map.of(\"jvm\", List.of(\"a/K.class\", \"a/N.class\", \"kernel.json\"), \"ptx\", List.of(\"kernel.json\", \"t.ptx\"))"), one);
    }

    private static String json(Path p) {
        return p.toString().replace("\\", "\\\\");
    }

    private static Map<String, byte[]> files(Path root) throws Exception {
        Map<String, byte[]> out = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path f : walk.filter(Files::isRegularFile).toList()) out.put(root.relativize(f).toString(), Files.readAllBytes(f));
        }
        return out;
    }
}
