package attnc.front;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.ir.Printer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** attnc's own library (examples/lib, shipped in this module as attn/attnc/) is importable from any file. */
class BundledLibraryTest {

    @Test
    void attncMasksAreImportableFromAnywhere(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("window.attn");
        Files.writeString(file, "import \"attnc/masks.attn\"\nmask: causal_window(16)\n");
        var pattern = Frontend.compile(file);
        assertEquals("q >= kv && q - kv < 16", Printer.expr(pattern.mask()));
    }
}
