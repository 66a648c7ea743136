package attnc.front;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.Token;

/** Collects the errors of one compilation, each once, in the order found. */
final class Diagnostics {
    private final Set<Diagnostic> seen = new LinkedHashSet<>();

    void report(Source source, int line, int column, int length, String message) {
        seen.add(new Diagnostic(source.name(), line, column, length, message, source.line(line)));
    }

    void report(Source source, Token token, String message) {
        report(source, token.getLine(), token.getCharPositionInLine() + 1, tokenLength(token), message);
    }

    void report(Source source, ParserRuleContext where, String message) {
        Token start = where.getStart();
        Token stop = where.getStop() == null ? start : where.getStop();
        int length = start.getLine() == stop.getLine()
                ? stop.getStopIndex() - start.getStartIndex() + 1
                : source.line(start.getLine()).length() - start.getCharPositionInLine();
        report(source, start.getLine(), start.getCharPositionInLine() + 1, Math.max(1, length), message);
    }

    boolean any() { return !seen.isEmpty(); }

    List<Diagnostic> all() { return new ArrayList<>(seen); }

    private static int tokenLength(Token token) {
        return token.getType() == Token.EOF ? 1 : Math.max(1, token.getStopIndex() - token.getStartIndex() + 1);
    }
}
