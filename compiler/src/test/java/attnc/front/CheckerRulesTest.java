package attnc.front;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.UnaryOp;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The checker's normal form, which the printer, the passes and the generators rely on. */
class CheckerRulesTest {
    private static final Expr Q = new Expr.IndexRef(Index.Q);

    @Test
    void floatIsInsertedWhereAnIntMeetsAFloat() throws CompileException {
        assertEquals(new Expr.Binary(BinaryOp.LT, new Expr.Call(Builtin.FLOAT, List.of(Q)), new Expr.FloatLit(2.5)), mask("q < 2.5"));
        assertEquals(new Expr.Binary(BinaryOp.ADD, new Expr.ScoreRef(), new Expr.Call(Builtin.FLOAT, List.of(Q))),
                compile("mask: true\nscore: s + q").score());
        assertEquals(new Expr.Call(Builtin.FLOAT, List.of(new Expr.Binary(BinaryOp.SUB, Q, new Expr.IndexRef(Index.KV)))),
                compile("mask: true\nscore: q - kv").score(), "an int score becomes a float");
    }

    @Test
    void conversionsAreCallsAndNeverOfTheirOwnType() throws CompileException {
        assertEquals(new Expr.Binary(BinaryOp.EQ, new Expr.Call(Builtin.INT, List.of(new Expr.FloatLit(2.5))), Q), mask("int(2.5) == q"));
        assertEquals(new Expr.Binary(BinaryOp.EQ, Q, Q), mask("int(q) == q"), "int() of an int is the int");
        assertEquals(new Expr.Binary(BinaryOp.LT, new Expr.FloatLit(2.5), new Expr.FloatLit(3.0)), mask("float(2.5) < 3.0"),
                "float() of a float is the float");
        assertEquals(new Expr.Call(Builtin.EXP, List.of(new Expr.Call(Builtin.FLOAT, List.of(Q)))),
                compile("mask: true\nscore: exp(q)").score());
    }

    @Test
    void aMinusDirectlyBeforeALiteralMakesANegativeLiteral() throws CompileException {
        assertEquals(new Expr.Binary(BinaryOp.GT, Q, new Expr.IntLit(-5)), mask("q > -5"));
        assertEquals(new Expr.Binary(BinaryOp.GT, Q, new Expr.Unary(UnaryOp.NEG, new Expr.IntLit(5))), mask("q > -(5)"));
        assertEquals(new Expr.Binary(BinaryOp.GT, Q, new Expr.IntLit(Integer.MIN_VALUE)), mask("q > -2147483648"));
        assertEquals(new Expr.Binary(BinaryOp.GT, new Expr.FloatLit(-0.0), new Expr.FloatLit(-1.5)), mask("-0.0 > -1.5"));
        CompileException e = assertThrows(CompileException.class, () -> mask("q > 2147483648"));
        assertEquals("integer 2147483648 does not fit in 32 bits; expected a value within ±2147483647", e.diagnostics().getFirst().message());
    }

    @Test
    void theNegationOfALiteralPrintsWithParentheses() {
        assertEquals("-(5)", Printer.expr(new Expr.Unary(UnaryOp.NEG, new Expr.IntLit(5))));
        assertEquals("-(-5)", Printer.expr(new Expr.Unary(UnaryOp.NEG, new Expr.IntLit(-5))));
        assertEquals("-5", Printer.expr(new Expr.IntLit(-5)));
        assertEquals("q - -5", Printer.expr(new Expr.Binary(BinaryOp.SUB, Q, new Expr.IntLit(-5))));
    }

    @Test
    void boolInputsAndTheirLoads() throws CompileException {
        Pattern p = compile("input keep: bool[B, Nkv]\nmask: keep[b, kv]");
        assertEquals(DType.BOOL, p.inputs().getFirst().dtype());
        assertEquals(new Expr.Load("keep", DType.BOOL, List.of(new Expr.IndexRef(Index.B), new Expr.IndexRef(Index.KV))), p.mask());
    }

    @Test
    void docsAndTheFileNameAreKept() throws CompileException {
        Pattern p = Frontend.compile("windowed.attn", "//! Sliding window.\n//!  Two lines.\n/// Keys seen.\nparam w: int = 4\nmask: q - kv < w");
        assertEquals("windowed", p.name());
        assertEquals("Sliding window.\n Two lines.", p.doc());
        assertEquals("Keys seen.", p.params().getFirst().doc());
    }

    @Test
    void letsAndFunctionsInlineButBracketedLetsStay() throws CompileException {
        Pattern p = compile("let near = q - kv < 8\nfn causal() = q >= kv\nmask: causal() && near && (let x = q; x > 0)");
        Expr expected = new Expr.Binary(BinaryOp.AND, new Expr.Binary(BinaryOp.AND,
                new Expr.Binary(BinaryOp.GE, Q, new Expr.IndexRef(Index.KV)),
                new Expr.Binary(BinaryOp.LT, new Expr.Binary(BinaryOp.SUB, Q, new Expr.IndexRef(Index.KV)), new Expr.IntLit(8))),
                new Expr.Let("x", Q, new Expr.Binary(BinaryOp.GT, new Expr.LocalRef("x", attnc.ir.Type.INT), new Expr.IntLit(0))));
        assertEquals(expected, p.mask());
    }

    @Test
    void kvExistsOnlyWhereEachKeyIsSeen() throws CompileException {
        compile("mask: q - kv < 4\nselect: kv % 2 == 0\nscore: s - float(q - kv)");
        for (String section : List.of("scale: float(kv)", "norm: softmax(sink = float(kv))", "norm: sigmoid(bias = float(kv))", "output: o * float(kv)")) {
            CompileException e = assertThrows(CompileException.class, () -> compile("mask: true\n" + section), section);
            assertEquals(1, e.diagnostics().size(), section);
            org.junit.jupiter.api.Assertions.assertTrue(e.diagnostics().getFirst().message().startsWith("the key index kv is not available in the "), section);
        }
    }

    private static Expr mask(String expression) throws CompileException {
        return compile("mask: " + expression).mask();
    }

    private static Pattern compile(String text) throws CompileException {
        return Frontend.compile("rules.attn", text);
    }
}
