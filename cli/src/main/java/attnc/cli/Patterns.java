package attnc.cli;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Small steps every command shares: load a pattern file, read {@code --param} values. */
final class Patterns {
    private Patterns() {}

    static Pattern load(Path file) throws CompileException {
        return Frontend.compile(file);
    }

    /**
     * The pattern compiled again knowing the params that will be folded at compile time, so a
     * fold through them that overflows or divides by zero is reported at its line and column.
     */
    static Pattern withFixed(Path file, Pattern pattern, Map<String, Expr> fixed) throws CompileException {
        return fixed.isEmpty() ? pattern : Frontend.compile(file, fixed);
    }

    /**
     * {@code --param k=v} values as literals of the param's type. They are typed here, not only by
     * {@link Binding#of}, because compile-time values are folded into the IR before any launch.
     */
    static Map<String, Expr> paramValues(Pattern pattern, Map<String, String> given) {
        Map<String, Expr> values = new LinkedHashMap<>();
        given.forEach((name, text) -> values.put(name, Binding.paramValue(pattern, name, Binding.parseValue(text))));
        return values;
    }
}
