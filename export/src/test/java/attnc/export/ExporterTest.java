package attnc.export;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.Frontend;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExporterTest {

    @Test
    void anExportedJarIsTheSameBytesEveryTime(@TempDir Path dir) throws Exception {
        var pattern = Frontend.compile("causal.attn", "mask: q >= kv\n");
        Exporter.export(pattern, "0", Exporter.Target.JAR, dir.resolve("a"));
        Exporter.export(pattern, "0", Exporter.Target.JAR, dir.resolve("b"));
        assertArrayEquals(Files.readAllBytes(dir.resolve("a/causal.jar")), Files.readAllBytes(dir.resolve("b/causal.jar")));
        // Not the clock's time, which would differ from one export to the next.
        try (var jar = new java.util.zip.ZipFile(dir.resolve("a/causal.jar").toFile())) {
            for (var entry : java.util.Collections.list(jar.entries())) {
                assertEquals(java.time.LocalDateTime.of(1980, 1, 1, 0, 0), entry.getTimeLocal(), entry.getName());
            }
        }
    }

    @Test
    void aBackendMissingFromTheClassPathIsNamedWithItsArtifact(@TempDir Path dir) throws Exception {
        var pattern = Frontend.compile("causal.attn", "mask: q >= kv\n");
        var e = assertThrows(IllegalArgumentException.class, () -> Exporter.export(pattern, "0", Exporter.Target.PTX, dir));
        assertEquals(attnc.run.Attnc.unknownBackend("ptx").getMessage(), e.getMessage());
    }
}
