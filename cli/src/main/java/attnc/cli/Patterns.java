package attnc.cli;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.run.Binding;
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
     * {@code --param k=v} values as literals of the param's type. They are typed here, not only by
     * {@link Binding}, because compile-time values are folded into the IR before any launch.
     */
    static Map<String, Expr> paramValues(Pattern pattern, Map<String, String> given) {
        Map<String, Expr> values = new LinkedHashMap<>();
        given.forEach((name, text) -> {
            Param param = pattern.param(name).orElseThrow(() -> new UserError("unknown param '" + name + "'; "
                    + pattern.name() + " declares " + (pattern.params().isEmpty() ? "no params"
                    : String.join(", ", pattern.params().stream().map(Param::name).toList()))));
            values.put(name, typed(param, Binding.parseValue(text), text));
        });
        return values;
    }

    private static Expr typed(Param param, Expr value, String text) {
        if (value.type() == param.type()) return value;
        if (param.type() == Type.FLOAT && value instanceof Expr.IntLit(int v)) return new Expr.FloatLit(v);
        throw new UserError("param '" + param.name() + "' is " + param.type() + "; expected " + (param.type() == Type.INT ? "an " : "a ") + param.type() + " value, got '" + text + "'");
    }
}
