package attnc.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Build-time generation (what the Maven plugin runs) against mistaken sources: each error names
 * its file, line and column and what was expected; a file in error gets no wrapper and the build
 * is not stamped up to date, so the next build reports it again.
 */
class GenerationHostileTest {
    @TempDir Path dir;

    private void write(String relative, byte[] bytes) throws Exception {
        Path file = dir.resolve("attn").resolve(relative);
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
    }

    @Test
    void everyBadSourceIsReportedAtItsPlaceAndGetsNoWrapper() throws Exception {
        write("good.attn", "mask: q >= kv\n".getBytes(StandardCharsets.UTF_8));
        write("overflow.attn", "mask: q - kv < 2147483647 + 1\n".getBytes(StandardCharsets.UTF_8));
        write("latin1.attn", "mask: q >= kv // caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        write("typo.attn", "param window: int = 8\nmask: q - kv < windw\n".getBytes(StandardCharsets.UTF_8));
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> new Generation(Generation.Settings.of(dir.resolve("attn"),
                dir.resolve("java"), dir.resolve("res"), "gen", List.of("nope"))).run());
        assertTrue(unknown.getMessage().startsWith("unknown backend 'nope'; expected one of"), unknown.getMessage());
        Generation.Outcome outcome = new Generation(Generation.Settings.of(dir.resolve("attn"), dir.resolve("java"), dir.resolve("res"), "gen",
                List.of())).run();
        List<String> errors = outcome.errorLines().stream().map(e -> e.replace(dir.resolve("attn") + "/", "")).toList();
        assertTrue(errors.contains("latin1.attn:[1,1] cannot read file: not UTF-8 at byte 20; expected a UTF-8 text file"), errors.toString());
        assertTrue(errors.contains("overflow.attn:[1,16] integer overflow: 2147483647 + 1 = 2147483648 does not fit in 32 bits; "
                + "expected a result within int32 (write it as a float, or use smaller values)"), errors.toString());
        assertTrue(errors.stream().anyMatch(e -> e.startsWith("typo.attn:[2,16] unknown name 'windw'; did you mean 'window'?")), errors.toString());
        assertFalse(Files.exists(dir.resolve("java/gen/OverflowAttention.java")));
        assertFalse(Files.exists(dir.resolve("java/gen/TypoAttention.java")));
        assertFalse(Files.exists(dir.resolve("java/.attnc-stamp")), "a failed generation is not stamped up to date");
        assertEquals(1, outcome.patterns());
    }
}
