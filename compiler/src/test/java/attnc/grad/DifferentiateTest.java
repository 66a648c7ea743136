package attnc.grad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.gen.Point;
import attnc.gen.ScalarEvaluator;
import attnc.ir.BinaryOp;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.pass.FoldConstants;
import attnc.pass.ShareCommonSubexpressions;
import attnc.pass.Simplify;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The rules of {@link Differentiate}, one by one, and its conventions where no derivative exists. */
class DifferentiateTest {
    private static final Expr S = new Expr.ScoreRef();
    private static final Expr.Load T_H = new Expr.Load("t", DType.FLOAT32, List.of(new Expr.IndexRef(Index.H)));

    @Test
    void arithmetic() throws CompileException {
        assertEquals("s + s", bySOf("s * s"));
        assertEquals("-3.0", bySOf("-s - 2.0 * s"));
        // (l/r)' = (l' − (l/r)·r')/r
        assertEquals("(let _cse0 = s + 1.0; (3.0 - 3.0 * s / _cse0) / _cse0)", bySOf("(3.0 * s) / (s + 1.0)"));
        assertEquals("1.0 / t[h]", bySOf("s / t[h]"));
        assertEquals("-(t[h] / s) / s", bySOf("t[h] / s"));
    }

    @Test
    void functions() throws CompileException {
        assertEquals("-exp(-s)", bySOf("exp(-s)"));
        assertEquals("1.0 / s", bySOf("log(s)"));
        assertEquals("1.0 / (s * 0.6931471805599453)", bySOf("log2(s)"));
        assertEquals("1.0 / (2.0 * sqrt(s))", bySOf("sqrt(s)"));
        assertEquals("(let _cse0 = tanh(s); 1.0 - _cse0 * _cse0)", bySOf("tanh(s)"));
        assertEquals("(let _cse0 = sigmoid(s); _cse0 * (1.0 - _cse0))", bySOf("sigmoid(s)"));
    }

    @Test
    void piecewiseConstantFunctionsHaveNoDerivative() throws CompileException {
        assertEquals("0.0", bySOf("floor(s)"));
        assertEquals("0.0", bySOf("float(int(s * 3.0))"));
        assertEquals("0.0", bySOf("s > 1.0 ? 2.0 : 3.0"));
    }

    @Test
    void conditionalsRouteToTheBranchTaken() throws CompileException {
        assertEquals("s > 0.0 ? 2.0 : s + s", bySOf("s > 0.0 ? 2.0 * s : s * s"));
        assertEquals("s > 0.0 ? 1.0 : 0.0", bySOf("s > 0.0 ? s : 5.0"));
    }

    /** PyTorch's conventions: sign(0) = 0 for abs; min and max split the gradient evenly at a tie. */
    @Test
    void subgradientsAtKinks() throws CompileException {
        assertEquals("s > 0.0 ? 1.0 : s < 0.0 ? -1.0 : 0.0", bySOf("abs(s)"));
        assertEquals(0.0, bySAt("abs(s)", 0.0));
        assertEquals(-1.0, bySAt("abs(s)", -2.0));
        assertEquals(0.0, bySAt("max(s, 1.0 - s)", 0.5), "half of +1 and half of −1");
        assertEquals(1.0, bySAt("max(s, 1.0 - s)", 0.75));
        assertEquals(-1.0, bySAt("max(s, 1.0 - s)", 0.25));
        assertEquals(1.5, bySAt("min(s, 2.0 * s)", 0.0), "half of 1 and half of 2 at the tie");
        assertEquals(2.0, bySAt("min(s, 2.0 * s)", -1.0));
        assertEquals("s < 3.0 ? 1.0 : s > 3.0 ? 0.0 : 0.5", bySOf("min(s, 3.0)"));
    }

    /** A term that does not depend on the variable is left out, not multiplied by zero: no 0 · ∞ = NaN. */
    @Test
    void independentTermsAreDroppedNotZeroed() throws CompileException {
        assertEquals("1.0", bySOf("s + t[h] * log(0.0 * float(h))"));
        assertEquals(1.0, bySAt("s + t[h] * log(0.0 * float(h))", 2.0));
    }

    /** Equal load expressions are one variable; loads that happen to read the same element are not. */
    @Test
    void aLoadSiteIsItsExpression() throws CompileException {
        Expr score = score("t[h] * t[h] + t[h % H] + s");
        assertEquals("t[h] + t[h]", Printer.expr(Differentiate.derivative(score, T_H)));
        Expr.Load modulo = new Expr.Load("t", DType.FLOAT32, List.of(new Expr.Binary(BinaryOp.MOD, new Expr.IndexRef(Index.H), new Expr.SizeRef("H"))));
        assertEquals("1.0", Printer.expr(Differentiate.derivative(score, modulo)));
        assertEquals("0.0", Printer.expr(Differentiate.derivative(score("u[int(t[h])] + 0.0 * t[h % H]"), T_H)), "inside an index: no derivative");
    }

    @Test
    void refusesWhatItCannotDifferentiate() throws CompileException {
        Expr let = score("(let x = s; x * x)");
        assertEquals("inline lets before differentiating: (let x = s; x * x)",
                assertThrows(IllegalArgumentException.class, () -> Differentiate.derivative(let, S)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Differentiate.derivative(S, new Expr.IndexRef(Index.Q)));
    }

    private static Expr score(String text) throws CompileException {
        return Frontend.compile("d", "input t: float32[H]\ninput u: float32[3]\nmask: true\nscore: " + text).score();
    }

    private static String bySOf(String score) throws CompileException {
        Expr d = Differentiate.derivative(score(score), S);
        return Printer.expr(ShareCommonSubexpressions.share(Simplify.simplify(FoldConstants.fold(d, Map.of()))));
    }

    private static double bySAt(String score, double s) throws CompileException {
        Expr d = Differentiate.derivative(score(score), S);
        ScalarEvaluator evaluator = new ScalarEvaluator(Map.of("H", 2), Map.of(),
                Map.of("t", Tensor.ofFloats(DType.FLOAT32, new int[] {2}, new float[] {0.5f, -0.25f})));
        return (Double) evaluator.eval(d, new Point(0, 1, 0, 0, 0, s, 0));
    }
}
