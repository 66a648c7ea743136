package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.RandomProblems;
import attnc.launch.Binding;
import attnc.lower.Program.Level;
import attnc.pass.Passes;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** score = s + t: the term is found exactly where the score has that form, and c · t keeps its value with no per-element multiply added. */
class ScoreTermTest {

    private static Program score(String score) throws Exception {
        return LowerPattern.lower(Passes.optimize(Frontend.compile("t", "input slopes: float32[H]\ninput bias: float32[H, Nq, Nkv]\nmask: true\nscore: " + score),
                Map.of())).score();
    }

    @Test
    void termsOfAdditiveScores() throws Exception {
        for (String additive : List.of("s - slopes[h] * float(q - kv)", "s + bias[h, q, kv]", "bias[h, q, kv] + s", "s + 1.5", "s - float(kv) / 64.0")) {
            assertTrue(ScoreTerm.of(score(additive)).isPresent(), additive);
        }
        for (String other : List.of("s", "s * 2.0", "1.0 - s", "s + s * 0.5", "tanh(s / 30.0) * 30.0", "s * slopes[h] + 1.0", "-(s + 1.0)")) {
            assertEquals(Optional.empty(), ScoreTerm.of(score(other)), other);
        }
    }

    /** ALiBi's log2 e joins the slope once a head: the element level keeps one multiply, the one it had. */
    @Test
    void theFactorJoinsTheLeastVaryingOperand() throws Exception {
        Program term = ScoreTerm.of(score("s - slopes[h] * float(q - kv)")).orElseThrow();
        Program scaled = ScoreTerm.times(term, 1.4426950408889634);
        assertEquals(multipliesAt(term, Level.ELEMENT), multipliesAt(scaled, Level.ELEMENT), scaled.toString());
        assertEquals(multipliesAt(term, Level.UNIFORM) + 1, multipliesAt(scaled, Level.UNIFORM), scaled.toString());
    }

    /** ALiBi's forms give k with the form's signs folded in: k · float(q − kv) is the term, at every point. */
    @Test
    void relativeFactorsOfAlibiForms() throws Exception {
        Binding sizes = new Binding(Map.of("B", 1, "H", 2, "Hkv", 2, "Nq", 128, "Nkv", 128, "D", 4, "Dv", 4), 0, Map.of());
        ProgramInterpreter interpreter = new ProgramInterpreter(sizes, Map.of("slopes", attnc.tensor.Tensor.wrap(new float[] {0.25f, 0.5f}, 2)));
        for (String score : List.of("s - slopes[h] * float(q - kv)", "s + slopes[h] * float(kv - q)", "s + float(q - kv) * 0.5", "s - (-(slopes[h] * float(kv - q)))")) {
            Program term = ScoreTerm.of(score(score)).orElseThrow();
            Program k = ScoreTerm.relativeFactor(term).orElseThrow(() -> new AssertionError(score));
            assertEquals(Level.UNIFORM, k.resultLevel(), score);
            for (int[] at : new int[][] {{1, 7, 3}, {0, 2, 9}, {1, 100, 100}}) {
                Point point = new Point(0, at[0], at[1], at[2], 0, 0.0, 0.0);
                double want = (Double) interpreter.result(term, point), got = (Double) interpreter.result(k, point) * (at[1] - at[2]);
                assertEquals(want, got, 1e-12, score + " at h, q, kv = " + java.util.Arrays.toString(at));
            }
        }
        for (String other : List.of("s + float(q) * 0.5", "s + float(q - kv) * float(q)", "s + bias[h, q, kv]", "s + float(q - kv - 1) * 0.5", "s + float(q + kv) * 0.5")) {
            assertEquals(Optional.empty(), ScoreTerm.relativeFactor(ScoreTerm.of(score(other)).orElseThrow()), other);
        }
    }

    /** A negated term's factor carries the sign: c · (−(u · x)) = (u · −c) · x, with u uniform. */
    @Test
    void timesKeepsTheSignOfANegation() throws Exception {
        Program term = ScoreTerm.of(score("s - slopes[h] * float(q)")).orElseThrow();
        Program scaled = ScoreTerm.times(term, 2.0);
        Binding sizes = new Binding(Map.of("B", 1, "H", 2, "Hkv", 2, "Nq", 128, "Nkv", 128, "D", 4, "Dv", 4), 0, Map.of());
        ProgramInterpreter interpreter = new ProgramInterpreter(sizes, Map.of("slopes", attnc.tensor.Tensor.wrap(new float[] {0.25f, 0.5f}, 2)));
        Point at = new Point(0, 1, 6, 0, 0, 0.0, 0.0);
        assertEquals(-3.0, (Double) interpreter.result(term, at), 1e-12);
        assertEquals(-6.0, (Double) interpreter.result(scaled, at), 1e-12);
    }

    /**
     * On random patterns: the pattern's own score, and s ± T for two s-free programs T of it (its
     * scale, and its score with s fixed to 0, which random patterns seldom write in that form):
     * s + t is the score (exactly, in the reference's double), and times(t, c) is c · t within rounding.
     */
    @Property(tries = 300)
    void termAndScaledTermKeepTheScoresValue(@ForAll("launches") Launch launch) {
        var pattern = Passes.optimize(launch.pattern(), Map.of());
        LoweredPattern lowered = LowerPattern.lower(pattern);
        Binding binding = Binding.of(pattern, launch.problem());
        ProgramInterpreter interpreter = new ProgramInterpreter(binding, launch.problem().inputs());
        net.jqwik.api.statistics.Statistics.label("the pattern's own score is s + t").collect(ScoreTerm.of(lowered.score()).isPresent());
        ScoreTerm.of(lowered.score()).ifPresent(term -> checkTerm(lowered.score(), term, binding, interpreter));
        for (Program free : List.of(lowered.scale(), withoutS(lowered.score()))) {
            for (Opcode op : List.of(Opcode.ADD, Opcode.SUB)) {
                Program score = sPlus(op, free);
                checkTerm(score, ScoreTerm.of(score).orElseThrow(() -> new AssertionError("s " + op + " T has a term:\n" + score)), binding, interpreter);
            }
        }
    }

    private static void checkTerm(Program score, Program term, Binding binding, ProgramInterpreter interpreter) {
        Program scaled = ScoreTerm.times(term, -0.75);
        Random random = new Random(5);
        for (int i = 0; i < 10; i++) {
            Point at = RandomProblems.point(binding, random);
            double t = (Double) interpreter.result(term, at), want = (Double) interpreter.result(score, at);
            assertEquals(Double.valueOf(want), Double.valueOf(at.s() + t), () -> "s + t at " + at + "\n" + score);
            double c = (Double) interpreter.result(scaled, at);
            if (Double.isFinite(t)) assertEquals(-0.75 * t, c, 1e-12 * Math.abs(t), () -> "times at " + at + "\n" + scaled);
            else assertEquals(Double.valueOf(-0.75 * t), Double.valueOf(c), () -> "times at " + at + "\n" + scaled);
        }
    }

    /** The program with s fixed to 0: free of s. */
    private static Program withoutS(Program program) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = new int[program.instrs().size()];
        for (int i = 0; i < moved.length; i++) {
            Instr instr = program.instrs().get(i);
            moved[i] = out.add(instr instanceof Instr.Score ? new Instr.FloatConst(0.0) : StrengthReduce.renamed(instr, moved));
        }
        return out.build(moved[program.result()]);
    }

    /** s op T, T a float program free of s. */
    private static Program sPlus(Opcode op, Program free) {
        ProgramBuilder out = new ProgramBuilder();
        int[] moved = out.copy(free, free.instrs().size() - 1);
        int s = out.add(new Instr.Score());
        return out.build(out.add(new Instr.Op(op, attnc.ir.Type.FLOAT, attnc.ir.Type.FLOAT, List.of(s, moved[free.result()]))));
    }

    private static int multipliesAt(Program program, Level level) {
        int n = 0;
        for (int i = 0; i < program.instrs().size(); i++) {
            if (program.live(i) && program.level(i) == level && program.instrs().get(i) instanceof Instr.Op o && o.op() == Opcode.MUL) n++;
        }
        return n;
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}
