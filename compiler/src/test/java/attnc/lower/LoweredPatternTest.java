package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.lower.Program.Level;
import attnc.pass.Passes;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The lowered stage: levels, liveness and the facts kernels shape themselves by. */
class LoweredPatternTest {

    private static LoweredPattern lower(String text) throws Exception {
        return LowerPattern.lower(Passes.optimize(Frontend.compile("t", text), Map.of()));
    }

    @Test
    void levelsFollowTheIndicesAndTheScoreIsPerElement() throws Exception {
        LoweredPattern p = lower("input slopes: float32[H]\nmask: q + 1 > kv\nscore: s + slopes[h] * float(kv - q)\noutput: o * float(d + 1)");
        Program mask = p.visibility();
        assertEquals(Level.ELEMENT, mask.resultLevel());
        for (int i = 0; i < mask.instrs().size(); i++) {
            Level expected = switch (mask.instrs().get(i)) {
                case Instr.IndexValue(Index index) when index == Index.Q -> Level.ROW;
                case Instr.IndexValue(Index index) when index == Index.KV -> Level.COL;
                case Instr.IntConst c -> Level.UNIFORM;
                default -> null;
            };
            if (expected != null) assertEquals(expected, mask.level(i), mask.toString());
        }
        int score = indexOf(p.score(), new Instr.Score());
        assertEquals(Set.of(Index.Q, Index.KV), p.score().dependsOn(score), "s is one value per (q, kv)");
        assertEquals(Level.ELEMENT, p.score().level(score));
        assertEquals(Level.ELEMENT, p.output().level(indexOf(p.output(), new Instr.Output())), "o is one value per (q, d)");
        assertEquals(Set.of("slopes"), p.score().inputs());
        assertEquals(Set.of("slopes"), p.inputs());
    }

    /** The facts backends shape themselves by, and explain's text of them, on patterns that set each one either way. */
    @Test
    void factsAndTheirDescription() throws Exception {
        LoweredPattern plain = lower("mask: true");
        assertTrue(plain.alwaysVisible() && plain.identityScore() && plain.identityOutput() && plain.writesLse() && plain.positiveScale());
        assertEquals(Set.of(), plain.inputs());
        assertEquals("t", plain.name());
        assertTrue(plain.describe().startsWith("facts: always visible, score = s, output = o, writes LSE, positive scale\n"), plain.describe());

        LoweredPattern rich = lower("input doc: int32[B, Nkv]\ninput gate: float32[H]\ninput unused: float32[H]\ninput z: float32[H]\n"
                + "mask: doc[b, q] == doc[b, kv]\nscore: s * 0.5\nscale: -0.25\nnorm: softmax(sink = z[h])\noutput: o * gate[h]");
        assertFalse(rich.alwaysVisible() || rich.identityScore() || rich.identityOutput() || rich.positiveScale());
        assertTrue(rich.readsInputs() && rich.writesLse());
        assertEquals(List.of("doc", "gate", "z"), List.copyOf(rich.inputs()), "read inputs in declaration order, the unused one left out");
        String text = rich.describe();
        assertTrue(text.startsWith("facts: visibility reads [doc], writes LSE\n"), text);
        for (String section : List.of("visibility:\n  ", "scale:\n  ", "score:\n  ", "norm softmax, sink:\n  ", "output:\n  ")) {
            assertTrue(text.contains(section), section + " in\n" + text);
        }
        assertTrue(rich.visibility().loadsAt(Level.ROW) && rich.visibility().loadsAt(Level.COL) && !rich.visibility().loadsAt(Level.ELEMENT),
                "doc[b, q] is loaded per row, doc[b, kv] per column:\n" + rich.visibility());
        assertTrue(rich.output().loadsAt(Level.UNIFORM) || rich.output().loadsAt(Level.ROW), "gate[h] is loaded once a block or a row");

        LoweredPattern sigmoid = lower("input bias: float32[H]\nmask: q >= kv\nnorm: sigmoid(bias = bias[h])\nscale: 0.125");
        assertFalse(sigmoid.writesLse() || sigmoid.alwaysVisible() || sigmoid.readsInputs());
        assertTrue(sigmoid.positiveScale() && sigmoid.describe().contains("norm sigmoid, bias:\n") && sigmoid.describe().contains("visibility from indices"));
        assertTrue(lower("mask: true\nnorm: none").describe().contains("norm none\n"));
        assertEquals(lower("mask: q >= kv").visibility(), lower("mask: q >= kv").visibility(), "programs compare by value");
        assertEquals(lower("mask: q >= kv").visibility().hashCode(), lower("mask: q >= kv").visibility().hashCode());
    }

    @Test
    void onlyWhatTheResultNeedsIsLive() {
        // Register 1 (kv) is computed by nobody the result needs.
        Program program = new Program(List.of(new Instr.IndexValue(Index.Q), new Instr.IndexValue(Index.KV), new Instr.IntConst(3),
                new Instr.Op(Opcode.ADD, attnc.ir.Type.INT, attnc.ir.Type.INT, List.of(0, 2))), 3);
        assertTrue(program.live(0) && program.live(2) && program.live(3));
        assertFalse(program.live(1));
        assertEquals(Level.ROW, program.resultLevel());
        assertFalse(program.toString().contains("index kv"), program.toString());
    }

    @Test
    void factsOfCommonPatterns() throws Exception {
        LoweredPattern dense = lower("mask: true");
        assertTrue(dense.alwaysVisible() && dense.identityScore() && dense.identityOutput() && dense.writesLse() && dense.positiveScale());
        assertFalse(dense.readsInputs());
        LoweredPattern document = lower("input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv] && q >= kv");
        assertTrue(document.readsInputs() && document.visibilityDependsOn(Index.B));
        assertFalse(document.alwaysVisible() || document.visibilityDependsOn(Index.H));
        LoweredPattern sigmoid = lower("mask: q >= kv\nnorm: sigmoid(bias = -1.0)\nscale: -0.5");
        assertFalse(sigmoid.writesLse() || sigmoid.positiveScale());
        assertTrue(sigmoid.norm() instanceof LoweredNorm.Sigmoid s && s.bias().resultInstr() instanceof Instr.FloatConst);
        LoweredPattern softcap = lower("mask: true\nscore: 30.0 * tanh(s / 30.0)");
        assertFalse(softcap.identityScore());
        assertTrue(softcap.describe().contains("tanh"), softcap.describe());
    }

    /** The checker refuses these; a pattern built in Java that skips the checker is refused here, before any kernel. */
    @Test
    void independenceRulesAreAssertedOnce() {
        Pattern perKeyScale = Pattern.of("t", new Expr.BoolLit(true))
                .withScale(new Expr.Call(attnc.ir.Builtin.FLOAT, List.of(new Expr.IndexRef(Index.KV))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LowerPattern.lower(perKeyScale));
        assertTrue(e.getMessage().contains("scale may not depend on kv"), e.getMessage());
        Pattern perKeyOutput = Pattern.of("t", new Expr.BoolLit(true))
                .withOutput(new Expr.Binary(attnc.ir.BinaryOp.MUL, new Expr.OutputRef(),
                        new Expr.Call(attnc.ir.Builtin.FLOAT, List.of(new Expr.IndexRef(Index.KV)))));
        assertThrows(IllegalArgumentException.class, () -> LowerPattern.lower(perKeyOutput));
    }

    private static int indexOf(Program program, Instr instr) {
        return program.instrs().indexOf(instr);
    }

    /** The checker's independence rules hold in the record too: each part that may not vary along an index is refused when it does. */
    @Test
    void partsThatDependOnAForbiddenIndexAreRefused() throws Exception {
        LoweredPattern ok = lower("mask: true");
        Program kv = new Program(List.of(new Instr.IndexValue(Index.KV), new Instr.Op(Opcode.I2F, attnc.ir.Type.FLOAT, attnc.ir.Type.INT, List.of(0))), 1);
        Program d = new Program(List.of(new Instr.IndexValue(Index.D), new Instr.Op(Opcode.I2F, attnc.ir.Type.FLOAT, attnc.ir.Type.INT, List.of(0))), 1);
        Program dMask = new Program(List.of(new Instr.IndexValue(Index.D), new Instr.IntConst(0), new Instr.Op(Opcode.GT, attnc.ir.Type.BOOL, attnc.ir.Type.INT, List.of(0, 1))), 2);
        assertThrows(IllegalArgumentException.class, () -> new LoweredPattern(ok.pattern(), ok.visibility(), ok.score(), kv, ok.norm(), ok.output()), "scale on kv");
        assertThrows(IllegalArgumentException.class, () -> new LoweredPattern(ok.pattern(), ok.visibility(), ok.score(), ok.scale(),
                new LoweredNorm.Softmax(java.util.Optional.of(kv)), ok.output()), "sink on kv");
        assertThrows(IllegalArgumentException.class, () -> new LoweredPattern(ok.pattern(), ok.visibility(), ok.score(), ok.scale(), ok.norm(), kv), "output on kv");
        assertThrows(IllegalArgumentException.class, () -> new LoweredPattern(ok.pattern(), ok.visibility(), d, ok.scale(), ok.norm(), ok.output()), "score on d");
        assertThrows(IllegalArgumentException.class, () -> new LoweredPattern(ok.pattern(), dMask, ok.score(), ok.scale(), ok.norm(), ok.output()), "mask on d");
    }

    @Test
    void aZeroScaleIsNotPositiveAndTheSigmoidsValueIsItsBias() throws Exception {
        assertFalse(lower("mask: true\nscale: 0.0").positiveScale());
        assertTrue(lower("mask: true\nscale: 0.5").positiveScale());
        LoweredPattern sigmoid = lower("mask: true\nnorm: sigmoid(bias = -2.0)");
        assertEquals(java.util.Optional.of(((LoweredNorm.Sigmoid) sigmoid.norm()).bias()), sigmoid.norm().value());
        assertTrue(lower("mask: true\nscore: s + 1.5").scoreTerm().isPresent());
        assertTrue(lower("mask: true\nscore: s * 1.5").scoreTerm().isEmpty());
    }
}
