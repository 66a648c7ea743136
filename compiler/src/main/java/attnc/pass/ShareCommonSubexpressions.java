package attnc.pass;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Binds every non-trivial subexpression that occurs more than once to a {@code let} at the root,
 * so each is computed once per element. Only total, side-effect-free subtrees are shared: no
 * tensor loads (hoisting one out of a guarding {@code ?:} could read out of bounds) and nothing
 * that refers to an enclosing {@code let}.
 */
public final class ShareCommonSubexpressions {
    private static final String PREFIX = "_cse";

    private ShareCommonSubexpressions() {}

    public static Expr share(Expr root) {
        Map<Expr, Integer> counts = new LinkedHashMap<>();
        count(root, counts);
        List<Expr> shared = new ArrayList<>();
        for (var entry : counts.entrySet()) {
            if (entry.getValue() > 1 && shareable(entry.getKey())) shared.add(entry.getKey());
        }
        // Largest first, so a shared tree is replaced whole before its parts are considered.
        shared.sort((a, b) -> Integer.compare(ExprTree.size(b), ExprTree.size(a)));
        Expr body = root;
        List<Binding> bindings = new ArrayList<>();
        String prefix = freshPrefix(root);
        int next = 0;
        for (Expr candidate : shared) {
            if (occurrences(body, candidate) + bindings.stream().mapToInt(b -> occurrences(b.value(), candidate)).sum() < 2) continue;
            Expr.LocalRef local = new Expr.LocalRef(prefix + next++, candidate.type());
            body = replace(body, candidate, local);
            List<Binding> updated = new ArrayList<>();
            for (Binding b : bindings) updated.add(new Binding(b.name(), replace(b.value(), candidate, local)));
            bindings = updated;
            bindings.add(new Binding(local.name(), candidate));
        }
        // Later bindings are parts of earlier ones: bind them first.
        for (Binding b : bindings) body = new Expr.Let(b.name(), b.value(), body);
        return body;
    }

    private record Binding(String name, Expr value) {}

    /** A name prefix no let of the expression starts with, so a user's let never captures a shared value. */
    private static String freshPrefix(Expr root) {
        String prefix = PREFIX;
        while (usesPrefix(root, prefix)) prefix = "_" + prefix;
        return prefix;
    }

    private static boolean usesPrefix(Expr root, String prefix) {
        return ExprTree.any(root, x -> x instanceof Expr.Let let && let.name().startsWith(prefix));
    }

    private static void count(Expr e, Map<Expr, Integer> counts) {
        counts.merge(e, 1, Integer::sum);
        for (Expr child : ExprTree.children(e)) count(child, counts);
    }

    private static boolean shareable(Expr e) {
        return !ExprTree.children(e).isEmpty() && !ExprTree.any(e, x -> x instanceof Expr.Load || x instanceof Expr.Member
                || x instanceof Expr.LocalRef || x instanceof Expr.Let);
    }

    private static int occurrences(Expr e, Expr target) {
        if (e.equals(target)) return 1;
        int n = 0;
        for (Expr child : ExprTree.children(e)) n += occurrences(child, target);
        return n;
    }

    private static Expr replace(Expr e, Expr target, Expr with) {
        if (e.equals(target)) return with;
        List<Expr> children = ExprTree.children(e);
        if (children.isEmpty()) return e;
        List<Expr> replaced = new ArrayList<>(children.size());
        for (Expr child : children) replaced.add(replace(child, target, with));
        return ExprTree.withChildren(e, replaced);
    }
}
