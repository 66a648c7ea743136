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

    /** On random patterns: s + t is the score (exactly, in the reference's double), and times(t, c) is c · t within rounding. */
    @Property(tries = 300)
    void termAndScaledTermKeepTheScoresValue(@ForAll("launches") Launch launch) {
        var pattern = Passes.optimize(launch.pattern(), Map.of());
        Program score = LowerPattern.lower(pattern).score();
        Optional<Program> term = ScoreTerm.of(score);
        if (term.isEmpty()) return;
        Binding binding = Binding.of(pattern, launch.problem());
        ProgramInterpreter interpreter = new ProgramInterpreter(binding, launch.problem().inputs());
        Program scaled = ScoreTerm.times(term.get(), -0.75);
        Random random = new Random(5);
        for (int i = 0; i < 10; i++) {
            Point at = RandomProblems.point(binding, random);
            double t = (Double) interpreter.result(term.get(), at), want = (Double) interpreter.result(score, at);
            assertEquals(want, at.s() + t, 0.0, () -> "s + t at " + at + "\n" + score);
            double c = (Double) interpreter.result(scaled, at);
            if (Double.isFinite(t)) assertEquals(-0.75 * t, c, 1e-12 * Math.abs(t), () -> "times at " + at + "\n" + scaled);
            else assertEquals(Double.valueOf(-0.75 * t), Double.valueOf(c), () -> "times at " + at + "\n" + scaled);
        }
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
