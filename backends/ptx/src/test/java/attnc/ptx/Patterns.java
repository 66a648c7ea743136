package attnc.ptx;

import attnc.front.Frontend;
import attnc.ir.Pattern;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The patterns the PTX tests cover: every example of the project and the backend's own feature patterns. */
final class Patterns {
    private Patterns() {}

    static List<Path> files() {
        return Stream.of(Path.of("../../examples"), Path.of("../../bench/gpu/patterns"), Path.of("src/test/resources/patterns")).flatMap(Patterns::list).toList();
    }

    private static Stream<Path> list(Path dir) {
        if (!Files.isDirectory(dir)) return Stream.empty();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".attn")).sorted().toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A pattern file compiled; files with no sections (libraries for import) give null. */
    static Pattern compile(Path file) {
        try {
            return Frontend.compile(file);
        } catch (Exception e) {
            if (e.getMessage() != null && e.getMessage().contains("missing section 'mask'")) return null;
            throw new AssertionError(file + ": " + e.getMessage(), e);
        }
    }
}
