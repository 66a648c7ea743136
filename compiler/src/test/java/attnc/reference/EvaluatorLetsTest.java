package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.Type;
import attnc.launch.Binding;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A let's name means its value only in its body: once the body is over, the same name means the
 * outer let's value again, for lets of every type. The derivative pass nests and repeats names
 * this way, and the analysis's brute force and the backward's partials evaluate through here.
 */
class EvaluatorLetsTest {
    private final Binding binding = new Binding(Map.of("B", 1, "H", 1, "Nq", 1, "Nkv", 1, "D", 1, "Dv", 1), 0, Map.of());

    @Test
    void anInnerIntLetShadowsOnlyInItsBody() {
        // let x = 1 in (let x = 2 in x) + x  =  3
        Expr e = let("x", new Expr.IntLit(1), add(let("x", new Expr.IntLit(2), local("x", Type.INT)), local("x", Type.INT)));
        assertEquals(3, new ElementEvaluator(binding, Map.of()).ints(e).at(0, 0, 0, 0, 0));
    }

    @Test
    void anInnerFloatLetShadowsOnlyInItsBody() {
        // let y = 1.0 in (let y = 2.0 in y) + y  =  3.0 (2 + 1, not 2 + 2)
        Expr sum = let("y", new Expr.FloatLit(1), add(let("y", new Expr.FloatLit(2), local("y", Type.FLOAT)), local("y", Type.FLOAT)));
        Evaluator evaluator = new Evaluator(binding, Map.of());
        assertEquals(3.0, evaluator.floats(sum).eval(new Evaluator.Env()));
    }

    @Test
    void anInnerBoolLetShadowsOnlyInItsBody() {
        // let c = true in (let c = false in c) || c  =  true; and false where the outer c is false
        Expr outerTrue = let("c", new Expr.BoolLit(true), or(let("c", new Expr.BoolLit(false), local("c", Type.BOOL)), local("c", Type.BOOL)));
        Expr outerFalse = let("c", new Expr.BoolLit(false), or(let("c", new Expr.BoolLit(false), local("c", Type.BOOL)), local("c", Type.BOOL)));
        ElementEvaluator evaluator = new ElementEvaluator(binding, Map.of());
        assertTrue(evaluator.bools(outerTrue).at(0, 0, 0, 0, 0));
        assertFalse(evaluator.bools(outerFalse).at(0, 0, 0, 0, 0));
    }

    private static Expr let(String name, Expr value, Expr body) { return new Expr.Let(name, value, body); }

    private static Expr local(String name, Type type) { return new Expr.LocalRef(name, type); }

    private static Expr add(Expr a, Expr b) { return new Expr.Binary(BinaryOp.ADD, a, b); }

    private static Expr or(Expr a, Expr b) { return new Expr.Binary(BinaryOp.OR, a, b); }
}
