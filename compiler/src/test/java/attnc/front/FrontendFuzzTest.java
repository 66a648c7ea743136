package attnc.front;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.PatternGenerator;
import attnc.ir.Printer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Broken source text never makes the front end throw anything but a {@link CompileException}
 * whose diagnostics point into the file. Texts are the examples, the bad-file corpus and printed
 * random patterns, mutated character- and token-wise, plus token soup. 10,000 tries in all.
 */
class FrontendFuzzTest {
    /** Pieces that the language gives meaning to, and some that it does not. */
    private static final List<String> TOKENS = List.of("mask", "select", "score", "scale", "norm", "output", "tile", ":",
            "param", "input", "import", "let", "fn", "in", "int", "float", "bool", "true", "false", "(", ")", "[", "]", ",", ";",
            "=", "?", "-", "!", "~", "+", "*", "/", "%", "<<", ">>", "&", "|", "^", "<", "<=", "==", "!=", "&&", "||",
            "q", "kv", "b", "h", "d", "s", "o", "B", "Nkv", "D", "softmax", "sigmoid", "none", "sink", "bias", "int32", "bfloat16",
            "0", "1", "64", "2147483648", "99999999999999999999", "1e999", "0.5", ".5e-3", "\"x.attn\"", "\"", "//", "///", "//!",
            "#", "\n", " ", "\t", "\r", "é", "@", "$", "\u0000", "{");
    private static final int MUTATION_KINDS = 6;

    private static final List<String> SEEDS = seeds();

    private record Mutation(int kind, int position, String token) {}

    @Property(tries = 8000)
    void mutatedSourceGivesDiagnosticsOnly(@ForAll("mutatedTexts") String text) {
        compileExpectingOnlyDiagnostics(text);
    }

    @Property(tries = 2000)
    void tokenSoupGivesDiagnosticsOnly(@ForAll("tokenSoup") String text) {
        compileExpectingOnlyDiagnostics(text);
    }

    @Example
    void nestingTooDeepForTheStackIsADiagnostic() {
        for (String opener : List.of("(", "-", "!", "q + ", "(let x = 1; ")) {
            String closer = opener.startsWith("(") ? ")" : "";
            compileExpectingOnlyDiagnostics("mask: " + opener.repeat(200_000) + "q < 1" + closer.repeat(200_000));
        }
    }

    @Example
    void anImportPathThatIsNoPathIsADiagnostic() {
        CompileException e = org.junit.jupiter.api.Assertions.assertThrows(CompileException.class,
                () -> Frontend.compile("fuzz.attn", "import \"a\u0000b.attn\"\nmask: true"));
        org.junit.jupiter.api.Assertions.assertEquals(
                "cannot import \"a\u0000b.attn\": not a valid path (Nul character not allowed); expected a path relative to this file",
                e.diagnostics().getFirst().message());
    }

    private static void compileExpectingOnlyDiagnostics(String text) {
        try {
            Frontend.compile("fuzz.attn", text);
        } catch (CompileException e) {
            assertFalse(e.diagnostics().isEmpty(), "a CompileException without diagnostics");
            long lines = text.lines().count();
            for (Diagnostic d : e.diagnostics()) {
                // An error at the end of the file may sit on the line after the last one; imported files are checked by their own name.
                boolean inside = d.line() >= 1 && d.column() >= 1 && (!d.file().equals("fuzz.attn") || d.line() <= lines + 1);
                assertTrue(inside, () -> "diagnostic outside the file: " + d.format());
                assertFalse(d.message().isBlank(), "a diagnostic without a message");
                assertFalse(d.format().isBlank());
            }
        }
    }

    @Provide
    Arbitrary<String> mutatedTexts() {
        Arbitrary<Mutation> mutation = Combinators.combine(Arbitraries.integers().between(0, MUTATION_KINDS - 1),
                Arbitraries.integers().between(0, 100_000), Arbitraries.of(TOKENS)).as(Mutation::new);
        return Combinators.combine(Arbitraries.integers().between(0, SEEDS.size() - 1), mutation.list().ofMinSize(1).ofMaxSize(6))
                .as((seed, mutations) -> {
                    String text = SEEDS.get(seed);
                    for (Mutation m : mutations) text = mutate(text, m);
                    return text;
                });
    }

    @Provide
    Arbitrary<String> tokenSoup() {
        return Arbitraries.of(TOKENS).list().ofMaxSize(40).map(tokens -> String.join(" ", tokens));
    }

    private static String mutate(String text, Mutation m) {
        if (text.isEmpty()) return m.token();
        List<String> tokens = tokens(text);
        int at = m.position() % tokens.size();
        int charAt = m.position() % text.length();
        switch (m.kind()) {
            case 0 -> { return text.substring(0, charAt) + text.substring(charAt + 1); }
            case 1 -> { return text.substring(0, charAt) + m.token() + text.substring(charAt); }
            case 2 -> {
                if (charAt + 1 >= text.length()) return text;
                return text.substring(0, charAt) + text.charAt(charAt + 1) + text.charAt(charAt) + text.substring(charAt + 2);
            }
            case 3 -> tokens.remove(at);
            case 4 -> tokens.set(at, m.token());
            default -> {
                String other = tokens.get((at + 1 + m.position() / 7) % tokens.size());
                tokens.set((at + 1 + m.position() / 7) % tokens.size(), tokens.get(at));
                tokens.set(at, other);
            }
        }
        return String.join("", tokens);
    }

    /** Splits text into words, numbers, blanks and single other characters; joining them gives the text back. */
    private static List<String> tokens(String text) {
        List<String> tokens = new ArrayList<>();
        var matcher = java.util.regex.Pattern.compile("[A-Za-z_][A-Za-z_0-9]*|[0-9.]+|\\s+|.", java.util.regex.Pattern.DOTALL).matcher(text);
        while (matcher.find()) tokens.add(matcher.group());
        return tokens;
    }

    private static List<String> seeds() {
        List<String> seeds = new ArrayList<>();
        seeds.addAll(attnFiles(Path.of("..", "examples")));
        seeds.addAll(attnFiles(Path.of("src", "test", "resources", "bad")));
        Random random = new Random(2);
        for (int i = 0; i < 40; i++) seeds.add(Printer.pattern(PatternGenerator.generate(random, 1 + i % 4)));
        return seeds;
    }

    private static List<String> attnFiles(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".attn")).sorted().map(FrontendFuzzTest::read).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
