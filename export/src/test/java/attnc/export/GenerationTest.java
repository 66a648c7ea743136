package attnc.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerationTest {
    @TempDir Path dir;

    private Generation generation() {
        return new Generation(dir.resolve("attn"), dir.resolve("java"), dir.resolve("res"), "gen", List.of());
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
        assertEquals(List.of(), outcome.errors());
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
    void errorsUseJavacPositionFormat() throws Exception {
        write("bad.attn", "param w: int = 4\nmask: q - kv < wn\n");
        Generation.Outcome outcome = generation().run();
        assertEquals(1, outcome.errors().size(), outcome.errors().toString());
        String error = outcome.errors().getFirst();
        assertTrue(error.endsWith("bad.attn:[2,16] unknown name 'wn'; did you mean 'w'?"), error);
        assertFalse(Files.exists(dir.resolve("java/.attnc-stamp")), "a failed run must not mark the sources up to date");
    }
}
