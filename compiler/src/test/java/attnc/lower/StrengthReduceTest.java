package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.RandomProblems;
import attnc.gen.Sections;
import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.ir.Semantics;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.pass.Passes;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Strength reduction keeps every program's value under {@link Semantics}, on every operand. */
class StrengthReduceTest {

    /** x / 2^k and x % 2^k for any int x, negative ones and the extremes included, against floored Semantics. */
    @Property(tries = 3000)
    void intDivisionAndModuloByPowersOfTwo(@ForAll("ints") int x, @ForAll @IntRange(min = 0, max = 30) int k) {
        int c = 1 << k;
        for (Opcode op : List.of(Opcode.DIV, Opcode.MOD)) {
            Program reduced = StrengthReduce.reduce(divide(op, Type.INT, new Instr.IntConst(c)));
            int expected = Semantics.intBinary(BinaryOp.valueOf(op.name()), x, c);
            assertEquals(expected, (int) (Integer) run(reduced, x, 0.0), op + " " + x + ", " + c);
            assertFalse(usesOpcode(reduced, op), op + " by " + c + " is reduced:\n" + reduced);
        }
    }

    /** x / ±2^k on floats becomes x · ±2^−k whenever the reciprocal is a normal float, and the value is the same bit for bit. */
    @Property(tries = 3000)
    void floatDivisionByPowersOfTwo(@ForAll("doubles") double x, @ForAll @IntRange(min = -160, max = 160) int k, @ForAll boolean negative) {
        double c = (negative ? -1 : 1) * Math.scalb(1.0, k);
        Program reduced = StrengthReduce.reduce(divide(Opcode.DIV, Type.FLOAT, new Instr.FloatConst(c)));
        double expected = Semantics.floatBinary(BinaryOp.DIV, x, c);
        assertEquals(Double.doubleToLongBits(expected), Double.doubleToLongBits((Double) run(reduced, 0, x)), x + " / " + c);
        boolean reciprocalIsNormalFloat = (float) c == c && Math.abs(1.0 / c) >= Float.MIN_NORMAL && Math.abs(1.0 / c) <= Float.MAX_VALUE;
        assertEquals(reciprocalIsNormalFloat, !usesOpcode(reduced, Opcode.DIV), "reduced exactly when exact: " + c);
        if (reciprocalIsNormalFloat) {
            float xf = (float) x, cf = (float) c;
            assertEquals(Float.floatToIntBits(xf / cf), Float.floatToIntBits(xf * (float) (1.0 / c)), "fp32 kernels agree too: " + xf + " / " + cf);
        }
    }

    @Test
    void otherDivisorsStay() {
        for (int c : new int[] {3, 6, -4, 0, 100}) {
            Program program = divide(Opcode.DIV, Type.INT, new Instr.IntConst(c));
            assertEquals(program, StrengthReduce.reduce(program), "x / " + c);
        }
        Program third = divide(Opcode.DIV, Type.FLOAT, new Instr.FloatConst(3.0));
        assertEquals(third, StrengthReduce.reduce(third), "x / 3.0 is left to the targets that accept a reciprocal");
    }

    /** The edges of "a normal fp32 reciprocal": 2^126 (reciprocal FLT_MIN, reduced), 2^127 (subnormal, kept), 2^-127 and 2^-128 (reciprocals 2^127, reduced, and 2^128, past FLT_MAX, kept), 0. */
    @Test
    void reciprocalEdges() {
        assertTrue(StrengthReduce.exactReciprocal(Math.scalb(1.0, 126)) && StrengthReduce.exactReciprocal(-Math.scalb(1.0, 126)));
        assertFalse(StrengthReduce.exactReciprocal(Math.scalb(1.0, 127)));
        assertTrue(StrengthReduce.exactReciprocal(Math.scalb(1.0, -127)));
        assertFalse(StrengthReduce.exactReciprocal(Math.scalb(1.0, -128)));
        assertFalse(StrengthReduce.exactReciprocal(0.0) || StrengthReduce.exactReciprocal(3.0) || StrengthReduce.exactReciprocal(Math.scalb(1.0, 200)));
    }

    @Test
    void divisionByOneIsTheDividendAndModuloByOneIsZero() {
        Program quotient = StrengthReduce.reduce(divide(Opcode.DIV, Type.INT, new Instr.IntConst(1)));
        assertTrue(quotient.resultInstr() instanceof Instr.IndexValue, quotient.toString());
        Program remainder = StrengthReduce.reduce(divide(Opcode.MOD, Type.INT, new Instr.IntConst(1)));
        assertEquals(new Instr.IntConst(0), remainder.resultInstr());
    }

    /** Every section of random patterns (their optimised forms too) keeps its value after reduction. */
    @Property(tries = 300)
    void reducedProgramsEqualTheirOriginals(@ForAll("launches") Launch launch) {
        for (var pattern : List.of(launch.pattern(), Passes.optimize(launch.pattern(), Map.of()))) {
            Binding binding = Binding.of(pattern, launch.problem());
            ProgramInterpreter interpreter = new ProgramInterpreter(binding, launch.problem().inputs());
            Random random = new Random(9);
            for (Expr e : Sections.expressions(pattern)) {
                Program program = Lowering.lower(pattern, e), reduced = StrengthReduce.reduce(program);
                for (int i = 0; i < 10; i++) {
                    Point at = RandomProblems.point(binding, random);
                    assertEquals(interpreter.result(program, at), interpreter.result(reduced, at), () -> "at " + at + ": " + Printer.expr(e));
                }
            }
        }
    }

    /** q (as x) or s (as a float x) divided by a constant. */
    private static Program divide(Opcode op, Type type, Instr divisor) {
        Instr dividend = type == Type.INT ? new Instr.IndexValue(Index.Q) : new Instr.Score();
        return new Program(List.of(dividend, divisor, new Instr.Op(op, type, type, List.of(0, 1))), 2);
    }

    private static Object run(Program program, int q, double s) {
        return new ProgramInterpreter(null, Map.of()).result(program, new Point(0, 0, q, 0, 0, s, 0.0));
    }

    private static boolean usesOpcode(Program program, Opcode op) {
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.instrs().get(i) instanceof Instr.Op o && o.op() == op) return true;
        }
        return false;
    }

    @Provide
    Arbitrary<Integer> ints() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.integers().between(-300, 300),
                Arbitraries.of(Integer.MIN_VALUE, Integer.MIN_VALUE + 1, -1, 0, 1, Integer.MAX_VALUE));
    }

    @Provide
    Arbitrary<Double> doubles() {
        return Arbitraries.oneOf(Arbitraries.doubles().between(-1e6, 1e6), Arbitraries.floats().map(f -> (double) f),
                Arbitraries.of(0.0, -0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, (double) Float.MIN_VALUE,
                        (double) Float.MAX_VALUE, 1e-40, -3.5e38));
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}
