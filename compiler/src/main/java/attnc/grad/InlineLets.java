package attnc.grad;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Replaces every {@code let} by its value, so that each tensor load stands with closed indices
 * and one value has one spelling: the derivative pass can then name a load site by its
 * expression alone. Values are shared as objects, not copied; {@link attnc.pass.ShareCommonSubexpressions}
 * and the lowering's value numbering give the sharing back afterwards.
 */
public final class InlineLets {
    private InlineLets() {}

    public static Expr inline(Expr e) {
        return inline(e, Map.of());
    }

    private static Expr inline(Expr e, Map<String, Expr> values) {
        return switch (e) {
            case Expr.LocalRef(String name, var type) -> {
                Expr value = values.get(name);
                if (value == null) throw new IllegalArgumentException("local '" + name + "' is not bound by an enclosing let");
                yield value;
            }
            case Expr.Let(String name, Expr value, Expr body) -> {
                // The value sees the names outside the let; the body sees the new one, shadowing any outer one.
                Map<String, Expr> inner = new HashMap<>(values);
                inner.put(name, inline(value, values));
                yield inline(body, inner);
            }
            default -> {
                List<Expr> children = ExprTree.children(e);
                if (children.isEmpty()) yield e;
                List<Expr> inlined = new ArrayList<>(children.size());
                for (Expr child : children) inlined.add(inline(child, values));
                yield ExprTree.withChildren(e, inlined);
            }
        };
    }
}
