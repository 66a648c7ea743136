package attnc.grad;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.Expr;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The float loads a derivative can flow into: those reached from the root along float operands
 * only. Loads inside indices, conditions, comparisons, {@code floor} or {@code int()} are left
 * out, as their derivative is zero by {@link Differentiate}'s conventions. Equal load
 * expressions are one site, listed once, in the order they first occur. The expression must be
 * let-free ({@link InlineLets}).
 */
public final class FloatLoadSites {
    private final Set<Expr.Load> sites = new LinkedHashSet<>();

    private FloatLoadSites() {}

    public static List<Expr.Load> of(Expr e) {
        FloatLoadSites found = new FloatLoadSites();
        found.visit(e);
        return new ArrayList<>(found.sites);
    }

    private void visit(Expr e) {
        if (e.type() != Type.FLOAT) return;
        switch (e) {
            case Expr.Load load -> sites.add(load);
            case Expr.Unary(UnaryOp op, Expr x) -> visit(x);
            case Expr.Binary(BinaryOp op, Expr l, Expr r) -> {
                visit(l);
                visit(r);
            }
            case Expr.Conditional(Expr c, Expr t, Expr f) -> {
                visit(t);
                visit(f);
            }
            case Expr.Call(Builtin fn, List<Expr> args) when fn != Builtin.FLOOR -> args.forEach(this::visit);
            default -> { }
        }
    }
}
