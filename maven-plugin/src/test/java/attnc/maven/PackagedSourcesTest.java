package attnc.maven;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PackagedSourcesTest {

    @Test
    void copiesOfRemovedSourcesLeaveTheClasses(@TempDir Path dir) throws Exception {
        Path sources = dir.resolve("src/main/attn"), packaged = dir.resolve("target/classes/attn");
        for (String file : List.of("keep.attn", "lib/masks.attn", "lib/gone.attn", "gone.attn")) {
            Files.createDirectories(packaged.resolve(file).getParent());
            Files.writeString(packaged.resolve(file), "mask: true\n");
        }
        Files.createDirectories(sources.resolve("lib"));
        Files.writeString(sources.resolve("keep.attn"), "mask: true\n");
        Files.writeString(sources.resolve("lib/masks.attn"), "let x = 1\n");

        List<Path> removed = PackagedSources.removeGone(sources, packaged);

        assertEquals(List.of(packaged.resolve("gone.attn"), packaged.resolve("lib/gone.attn")), removed.stream().sorted().toList());
        assertFalse(Files.exists(packaged.resolve("lib/gone.attn")));
        assertTrue(Files.exists(packaged.resolve("keep.attn")) && Files.exists(packaged.resolve("lib/masks.attn")));
        assertEquals(List.of(), PackagedSources.removeGone(sources, dir.resolve("nowhere")));
    }
}
