package attnc.front;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Each bad file in {@code src/test/resources/bad} gives exactly the diagnostics in its
 * {@code .expected} golden file: the {@link Diagnostic#format()} texts, one after another, with
 * the corpus directory left out of paths so the files read the same on every machine.
 * Run with {@code -Dattnc.golden.update=true} to rewrite the golden files (then read them).
 */
class DiagnosticsCorpusTest {
    private static final Path CORPUS = Path.of("src", "test", "resources", "bad");
    private static final boolean UPDATE = Boolean.getBoolean("attnc.golden.update");

    @TestFactory
    Stream<DynamicTest> everyBadFileGivesItsExpectedDiagnostics() throws IOException {
        return badFiles().stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            CompileException e = assertThrows(CompileException.class, () -> Frontend.compile(file), "a bad file compiled");
            String actual = shown(e);
            Path golden = expectedFile(file);
            if (UPDATE) Files.writeString(golden, actual + "\n");
            assertEquals(Files.readString(golden).stripTrailing(), actual);
        }));
    }

    @Test
    void everyBadFileHasAGoldenFileAndNoGoldenFileIsLeftOver() throws IOException {
        List<Path> bad = badFiles();
        for (Path file : bad) assertTrue(Files.exists(expectedFile(file)), "no golden file for " + file);
        try (Stream<Path> goldens = Files.list(CORPUS)) {
            for (Path golden : goldens.filter(f -> f.toString().endsWith(".expected")).toList()) {
                String attn = golden.getFileName().toString().replace(".expected", ".attn");
                assertTrue(Files.exists(golden.resolveSibling(attn)), "golden file without a bad file: " + golden);
            }
        }
    }

    @Test
    void severalErrorsInOneFileAreAllReported() throws IOException {
        CompileException e = assertThrows(CompileException.class, () -> Frontend.compile(CORPUS.resolve("several_errors.attn")));
        assertEquals(List.of(2, 4, 5, 6), e.diagnostics().stream().map(Diagnostic::line).toList());
    }

    /** The diagnostics as a user sees them, with the corpus directory (relative or absolute) left out of paths. */
    private static String shown(CompileException e) {
        String text = e.diagnostics().stream().map(Diagnostic::format).collect(Collectors.joining("\n"));
        return text.replace(CORPUS.toAbsolutePath() + "/", "").replace(CORPUS + "/", "");
    }

    private static List<Path> badFiles() throws IOException {
        try (Stream<Path> files = Files.list(CORPUS)) {
            return files.filter(f -> f.toString().endsWith(".attn")).sorted().toList();
        }
    }

    private static Path expectedFile(Path attn) {
        return attn.resolveSibling(attn.getFileName().toString().replace(".attn", ".expected"));
    }
}
