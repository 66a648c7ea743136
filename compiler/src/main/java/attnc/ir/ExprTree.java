package attnc.ir;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** Generic access to an expression's children, so passes need not list every node kind. */
public final class ExprTree {
    private ExprTree() {}

    public static List<Expr> children(Expr e) {
        return switch (e) {
            case Expr.Let(String n, Expr value, Expr body) -> List.of(value, body);
            case Expr.Unary(UnaryOp op, Expr operand) -> List.of(operand);
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> List.of(l, r);
            case Expr.Conditional(Expr c, Expr t, Expr f) -> List.of(c, t, f);
            case Expr.Call(Builtin fn, List<Expr> args) -> args;
            case Expr.Load(String i, DType d, List<Expr> indices) -> indices;
            case Expr.Member(Expr value, String i, DType d, List<Expr> leading) -> {
                List<Expr> all = new ArrayList<>();
                all.add(value);
                all.addAll(leading);
                yield all;
            }
            default -> List.of();
        };
    }

    /** The same node over new children (in the order {@link #children} gives them). */
    public static Expr withChildren(Expr e, List<Expr> c) {
        return switch (e) {
            case Expr.Let(String n, Expr value, Expr body) -> new Expr.Let(n, c.get(0), c.get(1));
            case Expr.Unary(UnaryOp op, Expr operand) -> new Expr.Unary(op, c.get(0));
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> new Expr.Binary(op, c.get(0), c.get(1));
            case Expr.Conditional(Expr cond, Expr t, Expr f) -> new Expr.Conditional(c.get(0), c.get(1), c.get(2));
            case Expr.Call(Builtin fn, List<Expr> args) -> new Expr.Call(fn, c);
            case Expr.Load(String i, DType d, List<Expr> indices) -> new Expr.Load(i, d, c);
            case Expr.Member(Expr value, String i, DType d, List<Expr> leading) -> new Expr.Member(c.getFirst(), i, d, c.subList(1, c.size()));
            default -> e;
        };
    }

    /** Rewrites bottom-up: children first, then the node itself. */
    public static Expr rewrite(Expr e, UnaryOperator<Expr> rule) {
        List<Expr> kids = children(e);
        if (kids.isEmpty()) return rule.apply(e);
        List<Expr> rewritten = new ArrayList<>(kids.size());
        for (Expr k : kids) rewritten.add(rewrite(k, rule));
        return rule.apply(withChildren(e, rewritten));
    }

    public static int size(Expr e) {
        int n = 1;
        for (Expr k : children(e)) n += size(k);
        return n;
    }

    public static boolean any(Expr e, java.util.function.Predicate<Expr> test) {
        if (test.test(e)) return true;
        for (Expr k : children(e)) if (any(k, test)) return true;
        return false;
    }

    /** Whether an expression reads any input tensor (its value then depends on data, not only on indices). */
    public static boolean readsInputs(Expr e) {
        return any(e, x -> x instanceof Expr.Load || x instanceof Expr.Member);
    }

    /** Applies a rewrite to every expression of a pattern (sections, norm options), leaving declarations alone. */
    public static Pattern mapPattern(Pattern p, UnaryOperator<Expr> f) {
        Norm norm = switch (p.norm()) {
            case Norm.Softmax(var sink) -> new Norm.Softmax(sink.map(f));
            case Norm.Sigmoid(Expr bias) -> new Norm.Sigmoid(f.apply(bias));
            case Norm.Identity i -> i;
        };
        return p.withMask(f.apply(p.mask())).withSelect(p.select().map(f)).withScore(f.apply(p.score()))
                .withScale(f.apply(p.scale())).withNorm(norm).withOutput(f.apply(p.output()));
    }
}
