package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.RandomProblems;
import attnc.gen.Sections;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Printer;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.lower.Program.Level;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** float(q ± kv) as float(q) ± float(kv): the same value, in fp32 too, for positions up to 2^24, and no longer a per-element conversion. */
class SplitPositionConversionTest {

    private static final int BOUND = (int) SplitPositionConversion.MAX_EXACT_POSITION;

    /** What the kernels compute, in fp32: one rounding of the exact integer either way, for every pair of positions within the bound. */
    @Property(tries = 5000)
    void exactInFp32WithinTheBound(@ForAll("positions") int q, @ForAll("positions") int kv) {
        assertEquals(Float.floatToIntBits((float) (q - kv)), Float.floatToIntBits((float) q - (float) kv), q + " - " + kv);
        assertEquals(Float.floatToIntBits((float) (q + kv)), Float.floatToIntBits((float) q + (float) kv), q + " + " + kv);
        assertEquals(Float.floatToIntBits((float) Math.abs(q - kv)), Float.floatToIntBits(Math.abs((float) q - (float) kv)), "|" + q + " - " + kv + "|");
    }

    /** Why the bound: one past it, a position itself rounds (2^24 + 1 → 2^24) and the difference with it is off by one. */
    @Test
    void notExactPastTheBound() {
        int q = BOUND + 1, kv = BOUND - 1;
        assertNotEquals((float) (q - kv), (float) q - (float) kv);
    }

    /** ALiBi's score: the conversion leaves the element level (a row's and a column's), the value stays. */
    @Test
    void alibiConvertsOnceARowAndOnceAColumn() throws Exception {
        LoweredPattern lowered = LowerPattern.lower(Passes.optimize(Frontend.compile("alibi",
                "input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv) + float(abs(kv - q)) / 8.0"), Map.of()));
        assertTrue(conversions(lowered.score()).contains(Level.ELEMENT), lowered.score().toString());
        LoweredPattern split = lowered.withExactPositions();
        assertEquals(List.of(Level.ROW, Level.COL), conversions(split.score()).stream().distinct().sorted().toList(), split.score().toString());
        assertEquals(lowered.visibility(), split.visibility());
    }

    @Test
    void otherConversionsStay() throws Exception {
        for (String score : List.of("s * float(q * kv)", "s + float(q - kv - 1)", "s + float(h - b)", "s + float(q - 3)")) {
            Program program = LowerPattern.lower(Passes.optimize(Frontend.compile("t", "mask: true\nscore: " + score), Map.of())).score();
            Program split = SplitPositionConversion.split(program);
            assertEquals(conversions(program), conversions(split), score + ":\n" + split);
        }
    }

    /** The launch decides: positions up to 2^24 inclusive, the last query's Q0 + Nq - 1 or the last key's Nkv - 1. */
    @Test
    void launchesWithinTheBound() throws Exception {
        var pattern = Frontend.compile("t", "mask: q >= kv");
        assertTrue(LoweredPattern.exactPositions(Binding.of(pattern, problem(BOUND - 3, 4, 16))));
        assertFalse(LoweredPattern.exactPositions(Binding.of(pattern, problem(BOUND - 2, 4, 16))));
        assertTrue(LoweredPattern.exactPositions(Binding.of(pattern, problem(0, 1, BOUND + 1))));
        assertFalse(LoweredPattern.exactPositions(Binding.of(pattern, problem(0, 1, BOUND + 2))));
    }

    /** Every section of random patterns keeps its value (the interpreter's double semantics: exact for any int). */
    @Property(tries = 300)
    void splitProgramsEqualTheirOriginals(@ForAll("launches") Launch launch) {
        var pattern = Passes.optimize(launch.pattern(), Map.of());
        Binding binding = Binding.of(pattern, launch.problem());
        ProgramInterpreter interpreter = new ProgramInterpreter(binding, launch.problem().inputs());
        Random random = new Random(11);
        for (Expr e : Sections.expressions(pattern)) {
            Program program = StrengthReduce.reduce(Lowering.lower(pattern, e)), split = SplitPositionConversion.split(program);
            for (int i = 0; i < 10; i++) {
                Point at = RandomProblems.point(binding, random);
                assertEquals(interpreter.result(program, at), interpreter.result(split, at), () -> "at " + at + ": " + Printer.expr(e));
            }
        }
    }

    /** The levels of the live int → float conversions, in register order. */
    private static List<Level> conversions(Program program) {
        List<Level> levels = new java.util.ArrayList<>();
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.instrs().get(i) instanceof Instr.Op o && o.op() == Opcode.I2F) levels.add(program.level(i));
        }
        return levels;
    }

    /** A launch of Nq queries from offset q0 against nkv keys, D = 1 (the data is never read). */
    private static Problem problem(int q0, int nq, int nkv) {
        Tensor q = Tensor.allocate(DType.FLOAT32, 1, 1, nq, 1), kv = Tensor.allocate(DType.FLOAT32, 1, 1, nkv, 1);
        return new Problem(q, kv, kv, Map.of(), Map.of(), q0);
    }

    @Provide
    Arbitrary<Integer> positions() {
        return Arbitraries.oneOf(Arbitraries.integers().between(0, BOUND), Arbitraries.integers().between(BOUND - 300, BOUND),
                Arbitraries.integers().between(0, 300), Arbitraries.of(0, 1, BOUND - 1, BOUND, (1 << 23) + 1, (1 << 23) - 1));
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}
