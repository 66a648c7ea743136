package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.gen.Point;
import attnc.grad.Section;
import attnc.ir.Index;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The backward's lowered programs compute the derivative pass's expressions and the offsets loads read. */
class LowerBackwardTest {

    @Test
    void alibiSlopeGradientIsPerHeadWithItsPartialAndOffset() throws Exception {
        var pattern = Passes.optimize(Frontend.compile("t", "input slopes: float32[H]\nmask: q >= kv\nscore: s - slopes[h] * float(q - kv)"), Map.of());
        LoweredBackward backward = LowerBackward.lower(pattern);
        assertEquals(1, backward.sites().size());
        LoweredBackward.Site site = backward.sites(Section.SCORE).getFirst();
        assertEquals("slopes", site.input());
        assertEquals(Set.of(Index.B, Index.Q, Index.KV), site.summedOver());
        Tensor q = Tensor.ofFloats(attnc.ir.DType.FLOAT32, new int[] {1, 3, 4, 2}, new float[24]);
        Tensor kv = Tensor.ofFloats(attnc.ir.DType.FLOAT32, new int[] {1, 3, 6, 2}, new float[36]);
        Tensor slopes = Tensor.ofFloats(attnc.ir.DType.FLOAT32, new int[] {3}, new float[] {0.5f, 0.25f, 0.125f});
        Binding binding = Binding.of(pattern, new Problem(q, kv, kv, Map.of("slopes", slopes)));
        ProgramInterpreter interpreter = new ProgramInterpreter(binding, Map.of("slopes", slopes));
        Point at = new Point(0, 2, 5, 1, 0, 0.75, 0.0);
        assertEquals(2, interpreter.result(site.offset(), at), "slopes[h] at h = 2");
        assertEquals(-4.0, (Double) interpreter.result(site.partial(), at), 1e-12, "d score/d slopes[h] = -(q - kv)");
        assertEquals(1.0, (Double) interpreter.result(backward.scoreByS(), at), 1e-12);
        assertTrue(backward.outputByO().resultInstr() instanceof Instr.FloatConst);
    }

    /** Sites by section, and the inputs with a gradient in the order their first site appears. */
    @Test
    void sitesBySectionAndInputsInOrder() throws Exception {
        var pattern = Passes.optimize(Frontend.compile("t", "input slopes: float32[H]\ninput t: float32[H]\nmask: q >= kv\n"
                + "score: s - slopes[h] * float(q - kv) + t[h]\nscale: t[h]"), Map.of());
        LoweredBackward backward = LowerBackward.lower(pattern);
        assertEquals(java.util.List.of("slopes", "t"), backward.inputs().stream().sorted().toList());
        for (Section section : Section.values()) {
            assertTrue(backward.sites(section).stream().allMatch(s -> s.section() == section), section.toString());
        }
        assertEquals(backward.sites().size(), java.util.Arrays.stream(Section.values()).mapToInt(s -> backward.sites(s).size()).sum());
        assertTrue(backward.sites(Section.SCALE).size() == 1 && backward.sites(Section.SCORE).size() == 2, backward.sites().toString());
    }

    /** A subset keeps the forward and the score's derivative and drops only the other inputs' sites. */
    @Test
    void onlyKeepsTheWantedInputsSites() throws Exception {
        var pattern = Passes.optimize(Frontend.compile("t", "input slopes: float32[H]\ninput t: float32[H]\nmask: q >= kv\n"
                + "score: s - slopes[h] * float(q - kv) + t[h]\nscale: t[h]"), Map.of());
        LoweredBackward all = LowerBackward.lower(pattern);
        LoweredBackward slopes = all.only(Set.of("slopes"));
        assertEquals(java.util.List.of("slopes"), slopes.inputs());
        assertEquals(all.sites().stream().filter(s -> s.input().equals("slopes")).toList(), slopes.sites());
        assertTrue(all.only(Set.of()).sites().isEmpty());
        assertEquals(all.forward(), slopes.forward());
        assertEquals(all.scoreByS(), slopes.scoreByS());
    }
}
