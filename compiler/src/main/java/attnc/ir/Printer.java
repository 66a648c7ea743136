package attnc.ir;

import java.util.stream.Collectors;

/**
 * IR to .attn text. The output parses back to the same IR (the pattern's name comes from the
 * file, so it is not printed); sections equal to their defaults are left out.
 */
public final class Printer {
    private static final int CONDITIONAL = -1;
    private static final int UNARY = 7;
    private static final int PRIMARY = 8;

    private Printer() {}

    public static String pattern(Pattern p) {
        StringBuilder out = new StringBuilder();
        if (!p.doc().isEmpty()) p.doc().lines().forEach(l -> out.append("//! ").append(l).append('\n'));
        for (Param param : p.params()) {
            doc(out, param.doc());
            out.append("param ").append(param.name()).append(": ").append(param.type().spelling());
            param.defaultValue().ifPresent(v -> out.append(" = ").append(expr(v)));
            out.append('\n');
        }
        for (Input input : p.inputs()) {
            doc(out, input.doc());
            out.append("input ").append(input.name()).append(": ").append(input.dtype().spelling())
               .append(input.shape().stream().map(Printer::expr).collect(Collectors.joining(", ", "[", "]"))).append('\n');
        }
        out.append("mask: ").append(expr(p.mask())).append('\n');
        p.select().ifPresent(s -> out.append("select: ").append(expr(s)).append('\n'));
        if (!(p.score() instanceof Expr.ScoreRef)) out.append("score: ").append(expr(p.score())).append('\n');
        if (!p.scale().equals(Pattern.DEFAULT_SCALE)) out.append("scale: ").append(expr(p.scale())).append('\n');
        if (!p.norm().equals(Pattern.DEFAULT_NORM)) out.append("norm: ").append(norm(p.norm())).append('\n');
        if (!(p.output() instanceof Expr.OutputRef)) out.append("output: ").append(expr(p.output())).append('\n');
        p.tile().ifPresent(t -> out.append("tile: q = ").append(t.q()).append(", kv = ").append(t.kv()).append('\n'));
        return out.toString();
    }

    public static String norm(Norm norm) {
        return switch (norm) {
            case Norm.Softmax(var sink) -> sink.map(s -> "softmax(sink = " + expr(s) + ")").orElse("softmax");
            case Norm.Sigmoid(Expr bias) -> "sigmoid(bias = " + expr(bias) + ")";
            case Norm.Identity() -> "none";
        };
    }

    private static void doc(StringBuilder out, String doc) {
        if (!doc.isEmpty()) doc.lines().forEach(l -> out.append("/// ").append(l).append('\n'));
    }

    public static String expr(Expr e) {
        StringBuilder out = new StringBuilder();
        print(e, out);
        return out.toString();
    }

    private static void print(Expr e, StringBuilder out) {
        switch (e) {
            case Expr.IntLit(int v) -> out.append(v);
            case Expr.FloatLit(double v) -> out.append(floatText(v));
            case Expr.BoolLit(boolean v) -> out.append(v);
            case Expr.IndexRef(Index i) -> out.append(i.spelling());
            case Expr.SizeRef(String n) -> out.append(n);
            case Expr.ParamRef(String n, Type t) -> out.append(n);
            case Expr.ScoreRef() -> out.append('s');
            case Expr.OutputRef() -> out.append('o');
            case Expr.LocalRef(String n, Type t) -> out.append(n);
            case Expr.Let let -> {
                out.append("(let ").append(let.name()).append(" = ");
                print(let.value(), out);
                out.append("; ");
                Expr body = let.body();
                while (body instanceof Expr.Let inner) {
                    out.append("let ").append(inner.name()).append(" = ");
                    print(inner.value(), out);
                    out.append("; ");
                    body = inner.body();
                }
                print(body, out);
                out.append(')');
            }
            case Expr.Unary(UnaryOp op, Expr operand) -> {
                out.append(op.symbol());
                boolean literal = op == UnaryOp.NEG && (operand instanceof Expr.IntLit || operand instanceof Expr.FloatLit);
                child(operand, out, literal || precedence(operand) < UNARY || startsWithMinus(operand));
            }
            case Expr.Binary(BinaryOp op, Expr left, Expr right) -> {
                child(left, out, precedence(left) < op.precedence());
                out.append(' ').append(op.symbol()).append(' ');
                child(right, out, precedence(right) <= op.precedence());
            }
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                child(c, out, precedence(c) <= CONDITIONAL);
                out.append(" ? ");
                child(t, out, precedence(t) <= CONDITIONAL);
                out.append(" : ");
                print(f, out);
            }
            case Expr.Call(Builtin fn, var args) -> {
                out.append(fn.spelling()).append('(');
                list(args, out);
                out.append(')');
            }
            case Expr.Load(String input, DType d, var indices) -> {
                out.append(input).append('[');
                list(indices, out);
                out.append(']');
            }
            case Expr.Member(Expr value, String input, DType d, var leading) -> {
                child(value, out, precedence(value) <= BinaryOp.MEMBER_PRECEDENCE);
                out.append(" in ").append(input).append('[');
                list(leading, out);
                out.append(']');
            }
        }
    }

    private static void list(java.util.List<Expr> items, StringBuilder out) {
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) out.append(", ");
            print(items.get(i), out);
        }
    }

    private static void child(Expr e, StringBuilder out, boolean parenthesise) {
        if (parenthesise) out.append('(');
        print(e, out);
        if (parenthesise) out.append(')');
    }

    /** "- -1" would lex fine, but "--" reads badly; parenthesise a negative operand of a unary op. */
    private static boolean startsWithMinus(Expr e) {
        return e instanceof Expr.IntLit(int i) && i < 0 || e instanceof Expr.FloatLit(double f) && (f < 0 || Double.compare(f, -0.0) == 0);
    }

    private static int precedence(Expr e) {
        return switch (e) {
            case Expr.Binary b -> b.op().precedence();
            case Expr.Member m -> BinaryOp.MEMBER_PRECEDENCE;
            case Expr.Conditional c -> CONDITIONAL;
            case Expr.Unary u -> UNARY;
            case Expr.IntLit(int v) -> v < 0 ? UNARY : PRIMARY;
            case Expr.FloatLit(double v) -> v < 0 || Double.compare(v, -0.0) == 0 ? UNARY : PRIMARY;
            default -> PRIMARY;
        };
    }

    private static String floatText(double v) {
        String text = Double.toString(v);
        return text.contains(".") || text.contains("E") ? text : text + ".0";
    }
}
