package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.RandomProblems;
import attnc.gen.Sections;
import attnc.grad.Section;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.pass.Passes;
import java.nio.file.Path;
import java.util.ArrayList;
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

/**
 * The program passes ({@link ShareSubexpressions}, {@link FoldProgram}, then
 * {@link StrengthReduce}: {@link LowerPattern#optimize}) keep every program's value bit for bit:
 * on random straight-line programs over every opcode, with extreme ints, negative dividends,
 * NaN-producing float functions, signed zeros and infinities, and on the lowered sections of
 * random patterns. Equal means {@link Object#equals}: ints and booleans exactly, doubles by
 * their bits (NaNs as one NaN, −0 apart from +0).
 */
class FoldProgramTest {

    @Property(tries = 3000)
    void randomProgramsKeepTheirValues(@ForAll long seed, @ForAll @IntRange(min = 1, max = 24) int length) {
        Random random = new Random(seed);
        Program program = RandomPrograms.program(random, length);
        Program optimized = LowerPattern.optimize(program);
        assertTrue(liveWork(optimized) <= liveWork(program), () -> "more work:\n" + program + "->\n" + optimized);
        ProgramInterpreter interpreter = new ProgramInterpreter(null, Map.of());
        for (int i = 0; i < 12; i++) {
            Point at = RandomPrograms.point(random);
            assertEquals(interpreter.result(program, at), interpreter.result(optimized, at), () -> "at " + at + ":\n" + program + "->\n" + optimized);
        }
    }

    /** Every section of random patterns, as written (literal operations unfolded) and optimised, keeps its value through the program passes. */
    @Property(tries = 300)
    void loweredSectionsKeepTheirValues(@ForAll("launches") Launch launch) {
        for (Pattern pattern : List.of(launch.pattern(), Passes.optimize(launch.pattern(), Map.of()))) {
            Binding binding = Binding.of(pattern, launch.problem());
            ProgramInterpreter interpreter = new ProgramInterpreter(binding, launch.problem().inputs());
            Random random = new Random(3);
            for (Expr e : Sections.expressions(pattern)) {
                Program program = Lowering.lower(pattern, e), optimized = LowerPattern.program(pattern, e);
                for (int i = 0; i < 10; i++) {
                    Point at = RandomProblems.point(binding, random);
                    assertEquals(interpreter.result(program, at), interpreter.result(optimized, at), () -> "at " + at + ": " + Printer.expr(e));
                }
            }
        }
    }

    /**
     * A float fold gives the fp32 kernels' value too: +, −, ·, / and √ of fp32 operands, done in
     * double, round to the fp32 operation's result (so the kernel's fp32 literal is what it would
     * have computed), whatever the operands, subnormal and huge ones included.
     */
    @Property(tries = 5000)
    void floatFoldsAreFp32Exact(@ForAll("floats") float a, @ForAll("floats") float b) {
        for (Opcode op : List.of(Opcode.ADD, Opcode.SUB, Opcode.MUL, Opcode.DIV)) {
            Instr folded = foldConstants(op, a, b);
            float fp32 = switch (op) {
                case ADD -> a + b;
                case SUB -> a - b;
                case MUL -> a * b;
                default -> a / b;
            };
            double exact = attnc.ir.Semantics.floatBinary(attnc.ir.BinaryOp.valueOf(op.name()), a, b);
            if (folded instanceof Instr.FloatConst(double v)) {
                assertEquals(Float.floatToIntBits(fp32), Float.floatToIntBits((float) v), op + " " + a + ", " + b);
            } else {
                assertFalse(Double.isFinite(exact) && Math.abs(exact) <= Float.MAX_VALUE, op + " " + a + ", " + b + " was not folded");
            }
        }
        if (foldConstants(Opcode.SQRT, a, 0f) instanceof Instr.FloatConst(double v)) {
            assertEquals(Float.floatToIntBits((float) Math.sqrt(a)), Float.floatToIntBits((float) v));
        }
    }

    /** CI's seed: x % 32 became x & 31 while 32 stayed live for x = q | 32, one constant more and no more work. */
    @Test
    void reducedRemainderKeepsItsDivisor() {
        Program program = new Program(List.of(new Instr.IndexValue(Index.Q), new Instr.IntConst(32),
                new Instr.Op(Opcode.BIT_OR, Type.INT, Type.INT, List.of(0, 1)), new Instr.Op(Opcode.MOD, Type.INT, Type.INT, List.of(2, 1)),
                new Instr.IndexValue(Index.KV), new Instr.Op(Opcode.GT, Type.BOOL, Type.INT, List.of(4, 3))), 5);
        Program optimized = LowerPattern.optimize(program);
        assertTrue(optimized.toString().contains("bit_and"), optimized::toString);
        assertEquals(liveWork(program), liveWork(optimized));
        ProgramInterpreter interpreter = new ProgramInterpreter(null, Map.of());
        for (int q : new int[] {0, 5, 31, 32, 77, 1 << 20}) {
            for (int kv : new int[] {0, 31, 32, 63, 64}) {
                Point at = new Point(0, 0, q, kv, 0, 0.0, 0.0);
                assertEquals(interpreter.result(program, at), interpreter.result(optimized, at), "q " + q + ", kv " + kv);
            }
        }
    }

    /** Floats that are not fp32 numbers (a literal such as 0.1) never fold: fp32 and double would round them differently. */
    @Test
    void nonFp32OperandsStay() {
        assertTrue(foldConstants(Opcode.ADD, 0.1, 0.2) instanceof Instr.Op);
        assertTrue(foldConstants(Opcode.FLOOR, 2.9999999999, 0) instanceof Instr.Op, "floor(2.9999999999) is 2 in double, 3 in fp32");
        assertTrue(foldConstants(Opcode.EXP, 1.0, 0) instanceof Instr.Op, "kernels approximate exp");
        assertTrue(foldConstants(Opcode.MUL, 3e38, 10.0) instanceof Instr.Op, "past fp32's range");
    }

    /** The identities that are not exact for floats stay: x + 0.0 (−0 + 0 = +0), x · 0.0 (NaN, ∞), x − x (NaN, ∞), x == x (NaN). */
    @Test
    void inexactFloatIdentitiesStay() {
        for (Opcode op : List.of(Opcode.ADD, Opcode.MUL)) {
            Program program = new Program(List.of(new Instr.Score(), new Instr.FloatConst(0.0), new Instr.Op(op, Type.FLOAT, Type.FLOAT, List.of(0, 1))), 2);
            assertEquals(op, ((Instr.Op) FoldProgram.fold(program).resultInstr()).op());
        }
        for (Opcode op : List.of(Opcode.SUB, Opcode.EQ, Opcode.LE)) {
            Type type = op == Opcode.SUB ? Type.FLOAT : Type.BOOL;
            Program program = new Program(List.of(new Instr.Score(), new Instr.Op(op, type, Type.FLOAT, List.of(0, 0))), 1);
            assertEquals(op, ((Instr.Op) FoldProgram.fold(program).resultInstr()).op());
        }
    }

    /** The sites of a section on one instruction list: each keeps its own result and reads what the others share. */
    @Test
    void sitesOfASectionShareOneInstructionList() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(Path.of("../examples/decayed_linear.attn")), Map.of());
        LoweredBackward backward = LowerBackward.lower(pattern);
        List<LoweredBackward.Site> sites = backward.sites(Section.SCORE);
        assertEquals(2, sites.size());
        List<Instr> shared = sites.getFirst().partial().instrs();
        for (LoweredBackward.Site site : sites) {
            assertEquals(shared, site.partial().instrs());
            assertEquals(shared, site.offset().instrs());
        }
        long exps = shared.stream().filter(i -> i instanceof Instr.Op op && op.op() == Opcode.EXP).count();
        assertEquals(1, exps, "both partials read one exp(G[q] - G[kv])");
    }

    /** Lowering's clamps of constant indices against constant dimensions fold away: no live operation of constants is left. */
    @Test
    void constantIndexArithmeticFolds() throws Exception {
        Pattern pattern = Passes.optimize(Frontend.compile(Path.of("../examples/low_rank_bias.attn")), Map.of());
        Program score = LowerPattern.lower(pattern).score();
        for (int r = 0; r < score.instrs().size(); r++) {
            if (!score.live(r) || !(score.instrs().get(r) instanceof Instr.Op op)) continue;
            assertFalse(op.args().stream().allMatch(a -> score.instrs().get(a) instanceof Instr.IntConst), "r" + r + " is constant:\n" + score);
        }
        assertTrue(Lowering.lower(pattern, pattern.score()).toString().lines().count() > score.toString().lines().count() + 10);
    }

    private static Instr foldConstants(Opcode op, double a, double b) {
        boolean unary = op == Opcode.SQRT || op == Opcode.FLOOR || op == Opcode.EXP;
        List<Instr> instrs = new ArrayList<>(List.of(new Instr.FloatConst(a), new Instr.FloatConst(b)));
        instrs.add(new Instr.Op(op, Type.FLOAT, Type.FLOAT, unary ? List.of(0) : List.of(0, 1)));
        return FoldProgram.fold(new Program(instrs, 2)).resultInstr();
    }

    /**
     * Live instructions other than constants: the kernels' immediates cost nothing, and strength
     * reduction may add one ({@code x % 32 → x & 31} keeps 32 where another operation reads it).
     */
    private static int liveWork(Program program) {
        int n = 0;
        for (int r = 0; r < program.instrs().size(); r++) {
            Instr instr = program.instrs().get(r);
            boolean constant = instr instanceof Instr.IntConst || instr instanceof Instr.FloatConst || instr instanceof Instr.BoolConst;
            if (program.live(r) && !constant) n++;
        }
        return n;
    }

    @Provide
    Arbitrary<Float> floats() {
        return Arbitraries.oneOf(Arbitraries.floats(), Arbitraries.floats().between(-4, 4),
                Arbitraries.integers().map(Float::intBitsToFloat).filter(Float::isFinite),
                Arbitraries.of(0f, -0f, 1f, -1f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, 3f, 0.1f));
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }

    /** Random straight-line programs over every opcode, and points to run them at. */
    static final class RandomPrograms {
        private static final int[] INTS = {Integer.MIN_VALUE, Integer.MIN_VALUE + 1, -7, -2, -1, 0, 1, 2, 3, 4, 5, 8, 31, 32, 33, Integer.MAX_VALUE};
        private static final double[] FLOATS = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0, 0.1, 1e30, 3e38, Float.MIN_VALUE, Double.POSITIVE_INFINITY, Double.NaN};
        private static final Opcode[] INT_TO_INT = {Opcode.ADD, Opcode.SUB, Opcode.MUL, Opcode.DIV, Opcode.MOD, Opcode.SHL, Opcode.SHR, Opcode.BIT_AND,
                Opcode.BIT_OR, Opcode.BIT_XOR, Opcode.MIN, Opcode.MAX};
        private static final Opcode[] COMPARE = {Opcode.LT, Opcode.LE, Opcode.GT, Opcode.GE, Opcode.EQ, Opcode.NE};
        private static final Opcode[] FLOAT_TO_FLOAT = {Opcode.ADD, Opcode.SUB, Opcode.MUL, Opcode.DIV, Opcode.MIN, Opcode.MAX};
        private static final Opcode[] FLOAT_UNARY = {Opcode.NEG, Opcode.ABS, Opcode.EXP, Opcode.LOG, Opcode.LOG2, Opcode.SQRT, Opcode.TANH,
                Opcode.SIGMOID, Opcode.FLOOR};

        static Program program(Random random, int length) {
            List<Instr> instrs = new ArrayList<>();
            for (int i = 0; i < 3 + random.nextInt(4); i++) instrs.add(leaf(random));
            while (instrs.size() < length + 4) instrs.add(operation(random, instrs));
            return new Program(instrs, instrs.size() - 1);
        }

        static Point point(Random random) {
            return new Point(0, 0, anInt(random), anInt(random), 0, aFloat(random), aFloat(random));
        }

        private static int anInt(Random random) {
            return random.nextBoolean() ? INTS[random.nextInt(INTS.length)] : random.nextInt(41) - 20;
        }

        private static double aFloat(Random random) {
            return random.nextBoolean() ? FLOATS[random.nextInt(FLOATS.length)] : random.nextGaussian() * 4;
        }

        private static Instr leaf(Random random) {
            return switch (random.nextInt(8)) {
                case 0, 1 -> new Instr.IntConst(anInt(random));
                case 2 -> new Instr.FloatConst(aFloat(random));
                case 3 -> new Instr.BoolConst(random.nextBoolean());
                case 4 -> new Instr.IndexValue(Index.Q);
                case 5 -> new Instr.IndexValue(Index.KV);
                case 6 -> new Instr.Score();
                default -> new Instr.Output();
            };
        }

        private static Instr operation(Random random, List<Instr> instrs) {
            if (random.nextInt(6) == 0) return leaf(random);
            Type type = Type.values()[random.nextInt(3)];
            List<Integer> of = new ArrayList<>();
            for (int r = 0; r < instrs.size(); r++) if (instrs.get(r).type() == type) of.add(r);
            if (of.isEmpty()) return leaf(random);
            int a = pick(random, of), b = random.nextInt(4) == 0 ? a : pick(random, of);
            if (random.nextInt(7) == 0) {
                List<Integer> conditions = new ArrayList<>();
                for (int r = 0; r < instrs.size(); r++) if (instrs.get(r).type() == Type.BOOL) conditions.add(r);
                if (!conditions.isEmpty()) return new Instr.Op(Opcode.SELECT, type, type, List.of(pick(random, conditions), a, b));
            }
            return switch (type) {
                case INT -> switch (random.nextInt(5)) {
                    case 0, 1 -> new Instr.Op(INT_TO_INT[random.nextInt(INT_TO_INT.length)], Type.INT, Type.INT, List.of(a, b));
                    case 2 -> new Instr.Op(COMPARE[random.nextInt(COMPARE.length)], Type.BOOL, Type.INT, List.of(a, b));
                    case 3 -> new Instr.Op(List.of(Opcode.NEG, Opcode.BIT_NOT, Opcode.ABS, Opcode.BITLEN).get(random.nextInt(4)), Type.INT, Type.INT, List.of(a));
                    default -> new Instr.Op(Opcode.I2F, Type.FLOAT, Type.INT, List.of(a));
                };
                case FLOAT -> switch (random.nextInt(5)) {
                    case 0, 1 -> new Instr.Op(FLOAT_TO_FLOAT[random.nextInt(FLOAT_TO_FLOAT.length)], Type.FLOAT, Type.FLOAT, List.of(a, b));
                    case 2 -> new Instr.Op(COMPARE[random.nextInt(COMPARE.length)], Type.BOOL, Type.FLOAT, List.of(a, b));
                    case 3 -> new Instr.Op(FLOAT_UNARY[random.nextInt(FLOAT_UNARY.length)], Type.FLOAT, Type.FLOAT, List.of(a));
                    default -> new Instr.Op(Opcode.F2I, Type.INT, Type.FLOAT, List.of(a));
                };
                case BOOL -> switch (random.nextInt(4)) {
                    case 0 -> new Instr.Op(Opcode.AND, Type.BOOL, Type.BOOL, List.of(a, b));
                    case 1 -> new Instr.Op(Opcode.OR, Type.BOOL, Type.BOOL, List.of(a, b));
                    case 2 -> new Instr.Op(Opcode.NOT, Type.BOOL, Type.BOOL, List.of(a));
                    default -> new Instr.Op(random.nextBoolean() ? Opcode.EQ : Opcode.NE, Type.BOOL, Type.BOOL, List.of(a, b));
                };
            };
        }

        /** A register, the later ones likelier, so programs grow deep as well as wide. */
        private static int pick(Random random, List<Integer> of) {
            return of.get(Math.max(random.nextInt(of.size()), random.nextInt(of.size())));
        }
    }
}
