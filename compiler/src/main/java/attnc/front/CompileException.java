package attnc.front;

import java.util.List;
import java.util.stream.Collectors;

/** A .attn file (or one it imports) has errors; each is a {@link Diagnostic}. Carries no stack trace worth showing. */
public final class CompileException extends Exception {
    private final List<Diagnostic> diagnostics;

    public CompileException(List<Diagnostic> diagnostics) {
        super(diagnostics.stream().map(Diagnostic::format).collect(Collectors.joining("\n")), null, false, false);
        this.diagnostics = List.copyOf(diagnostics);
    }

    public List<Diagnostic> diagnostics() { return diagnostics; }
}
