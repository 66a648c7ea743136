package attnc.front;

import attnc.ir.Expr;
import java.util.HashMap;
import java.util.Map;

/** Where an expression is checked: its file, its section, and the local names bound around it. */
record Scope(Unit unit, Place place, Map<String, Expr> locals) {
    Scope with(String local, Expr value) {
        Map<String, Expr> more = new HashMap<>(locals);
        more.put(local, value);
        return new Scope(unit, place, more);
    }

    Scope in(Unit other) {
        return new Scope(other, place, Map.of());
    }
}
