package attnc.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationTest {
    @TempDir Path dir;

    private Generation.Settings settings(List<String> precompile) {
        return Generation.Settings.of(dir.resolve("attn"), dir.resolve("java"), dir.resolve("res"), "gen", precompile);
    }

    private Generation generation() {
        return new Generation(settings(List.of()));
    }

    private void write(String relative, String text) throws Exception {
        Path file = dir.resolve("attn").resolve(relative);
        Files.createDirectories(file.getParent());
        Files.writeString(file, text);
    }

    @Test
    void writesOneWrapperPerPatternAndNoneForLibraries() throws Exception {
        write("lib/masks.attn", "fn local(w: int) = q >= kv && q - kv < w\n");
        write("nested/win.attn", "import \"../lib/masks.attn\"\nparam w: int = 8\nmask: local(w)\n");
        Generation.Outcome outcome = generation().run();
        assertEquals(List.of(), outcome.errorLines());
        assertEquals(1, outcome.patterns());
        Path wrapper = dir.resolve("java/gen/nested/WinAttention.java");
        String text = Files.readString(wrapper);
        assertTrue(text.contains("package gen.nested;"), text);
        assertTrue(text.contains("public Builder w(int w)"), text);
        assertTrue(text.contains("mask: q >= kv && q - kv < w"), "imports are inlined into the carried pattern:\n" + text);
    }

    @Test
    void unchangedInputsRewriteNothing() throws Exception {
        write("a.attn", "mask: q >= kv\n");
        write("b.attn", "mask: true\n");
        generation().run();
        Path a = dir.resolve("java/gen/AAttention.java");
        Path b = dir.resolve("java/gen/BAttention.java");
        FileTime old = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(a, old);
        Files.setLastModifiedTime(b, old);

        Generation.Outcome again = generation().run();
        assertTrue(again.upToDate());
        assertEquals(0, again.written());

        write("b.attn", "mask: kv <= q\n");
        Generation.Outcome changed = generation().run();
        assertFalse(changed.upToDate());
        assertEquals(1, changed.written());
        assertEquals(old, Files.getLastModifiedTime(a), "a.attn did not change, so its wrapper is not touched");
    }

    @Test
    void anotherGeneratorVersionIsNotUpToDate() throws Exception {
        write("a.attn", "mask: q >= kv\n");
        Generation.Settings v1 = settings(List.of());
        Generation.Settings v2 = new Generation.Settings(v1.sources(), v1.javaOutput(), v1.resourceOutput(), v1.basePackage(),
                v1.precompile(), v1.includes(), v1.excludes(), v1.libraries(), v1.resourceCopies(), "0.2.0");
        new Generation(v1).run();
        assertTrue(new Generation(v1).run().upToDate());
        assertFalse(new Generation(v2).run().upToDate(), "the stamp holds the generator's version");
        assertTrue(Files.readString(dir.resolve("java/.attnc-stamp")).startsWith("attnc-generation-2 0.2.0\n"));
    }

    @Test
    void errorsUseJavacPositionFormat() throws Exception {
        write("bad.attn", "param w: int = 4\nmask: q - kv < wn\n");
        Generation.Outcome outcome = generation().run();
        assertEquals(1, outcome.errors().size(), outcome.errorLines().toString());
        String error = outcome.errorLines().getFirst();
        assertTrue(error.endsWith("bad.attn:[2,16] unknown name 'wn'; did you mean 'w'?"), error);
        assertFalse(Files.exists(dir.resolve("java/.attnc-stamp")), "a failed run must not mark the sources up to date");
    }

    /** Removing a pattern removes its wrapper, its precompiled kernels, their copies among the classes, and emptied folders. */
    @Test
    void outputsOfARemovedPatternAreGone() throws Exception {
        write("keep.attn", "mask: q >= kv\n");
        write("sub/gone.attn", "mask: q - kv < 16\n");
        Path classes = dir.resolve("classes");
        Generation.Settings s = settings(List.of("jvm"));
        Generation.Settings withCopies = new Generation.Settings(s.sources(), s.javaOutput(), s.resourceOutput(), s.basePackage(),
                s.precompile(), s.includes(), s.excludes(), s.libraries(), List.of(classes), s.toolVersion());
        new Generation(withCopies).run();
        copyTree(dir.resolve("res"), classes);
        Path goneWrapper = dir.resolve("java/gen/sub/GoneAttention.java");
        Path goneKernels = dir.resolve("res/attnc/jvm/gen/sub/GoneAttention");
        assertTrue(Files.isRegularFile(goneWrapper));
        assertTrue(Files.isRegularFile(goneKernels.resolve("kernel.json")));
        assertTrue(Files.isRegularFile(classes.resolve("attnc/jvm/gen/sub/GoneAttention/kernel.json")));

        Files.delete(dir.resolve("attn/sub/gone.attn"));
        Generation.Outcome outcome = new Generation(withCopies).run();

        assertFalse(outcome.upToDate());
        assertFalse(Files.exists(goneWrapper), "wrapper of the removed pattern");
        assertFalse(Files.exists(dir.resolve("java/gen/sub")), "its emptied package folder");
        assertFalse(Files.exists(goneKernels), "its precompiled kernels");
        assertFalse(Files.exists(classes.resolve("attnc/jvm/gen/sub")), "their copies among the classes");
        assertTrue(Files.isRegularFile(dir.resolve("java/gen/KeepAttention.java")));
        assertTrue(Files.isRegularFile(classes.resolve("attnc/jvm/gen/KeepAttention/kernel.json")));
        assertEquals(1 + 2 * 3, outcome.removed(), "the wrapper, and three kernel files twice (generated and copied)");
    }

    @Test
    void includesAndExcludesChooseFilesButExcludedOnesStayImportable() throws Exception {
        write("lib/masks.attn", "fn local(w: int) = q >= kv && q - kv < w\nmask: local(4)\n");
        write("win.attn", "import \"lib/masks.attn\"\nmask: local(8)\n");
        write("experimental/try.attn", "mask: q >= kv\n");
        Generation.Settings s = settings(List.of());
        Generation.Outcome outcome = new Generation(new Generation.Settings(s.sources(), s.javaOutput(), s.resourceOutput(), s.basePackage(),
                s.precompile(), List.of("**/*.attn"), List.of("experimental/**", "lib/**"), List.of(), List.of(), "dev")).run();
        assertEquals(List.of(), outcome.errorLines());
        assertEquals(1, outcome.patterns());
        try (Stream<Path> files = Files.walk(dir.resolve("java"))) {
            assertEquals(List.of("WinAttention.java"), files.filter(p -> p.toString().endsWith(".java")).map(p -> p.getFileName().toString()).toList());
        }
    }

    /** A dependency's jar carries .attn files under attn/; imports not found next to the importer are looked up there. */
    @Test
    void importsResolveFromADependencysJar() throws Exception {
        Path jar = dir.resolve("masks-1.0.jar");
        writeJar(jar, "attn/shared/masks.attn", "fn window(w: int) = q >= kv && q - kv < w\n");
        write("local.attn", "import \"shared/masks.attn\"\nmask: window(32)\n");
        Generation.Settings s = settings(List.of());
        Generation.Settings withLibrary = new Generation.Settings(s.sources(), s.javaOutput(), s.resourceOutput(), s.basePackage(),
                s.precompile(), s.includes(), s.excludes(), List.of(jar), List.of(), "dev");
        Generation.Outcome outcome = new Generation(withLibrary).run();
        assertEquals(List.of(), outcome.errorLines());
        assertTrue(Files.readString(dir.resolve("java/gen/LocalAttention.java")).contains("mask: q >= kv && q - kv < 32"));
        assertTrue(new Generation(withLibrary).run().upToDate());
        writeJar(jar, "attn/shared/masks.attn", "fn window(w: int) = q >= kv && q - kv <= w\n");
        assertFalse(new Generation(withLibrary).run().upToDate(), "a changed library is a changed input");
        assertTrue(Files.readString(dir.resolve("java/gen/LocalAttention.java")).contains("q - kv <= 32"));

        write("missing.attn", "import \"shared/nothing.attn\"\nmask: true\n");
        String error = new Generation(withLibrary).run().errorLines().getFirst();
        assertTrue(error.endsWith("expected a path relative to this file or to the attn/ folder of a dependency"), error);
    }

    @Test
    void anUnknownBackendIsRefusedBeforeAnythingIsWritten() throws Exception {
        write("a.attn", "mask: q >= kv\n");
        var e = assertThrows(IllegalArgumentException.class, () -> new Generation(settings(List.of("cuda"))).run());
        assertTrue(e.getMessage().startsWith("unknown backend 'cuda'; expected one of jvm (dev.attnc:attnc-backend-jvm)"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("java")));
    }

    private static void writeJar(Path jar, String entry, String text) throws Exception {
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream entries = new JarOutputStream(out)) {
            entries.putNextEntry(new JarEntry(entry));
            entries.write(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            entries.closeEntry();
        }
    }

    static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                Path target = to.resolve(from.relativize(f).toString());
                Files.createDirectories(target.getParent());
                Files.copy(f, target);
            }
        }
    }
}
