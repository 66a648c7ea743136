package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.Launch;
import attnc.grad.DifferentiatePattern;
import attnc.grad.LoadPartial;
import attnc.grad.Section;
import attnc.ir.Norm;
import attnc.launch.Wrt;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The reference backward is the derivative of the reference forward: on random patterns (every
 * score modifier, norm and output transform the generator makes, GQA, Nq ≠ Nkv, query offsets),
 * dq, dk, dv and every float input's gradient agree with central finite differences
 * ({@link FiniteDifferences} states the step, the tolerance and how non-smooth points are skipped).
 */
class ReferenceBackwardFiniteDifferenceTest {
    private static final int ELEMENTS_PER_GRADIENT = 8;

    @Property(tries = 300)
    void backwardIsTheDerivativeOfTheForward(@ForAll("launches") Launch launch) {
        GradientCheck.Outcome outcome = GradientCheck.run(launch.pattern(), launch.problem(), new Random(launch.toString().hashCode()),
                ELEMENTS_PER_GRADIENT);
        assertEquals(List.of(), outcome.failures(), launch::toString);
    }

    /**
     * The property is not vacuous: over 200 fixed launches, non-zero gradients are compared for
     * q, k, v under every norm and for inputs read in every section, and few coordinates are
     * skipped as non-smooth.
     */
    @Example
    void comparisonsCoverEveryNormAndSection() {
        Map<String, Integer> nonZero = new HashMap<>();
        int checked = 0, skipped = 0;
        List<String> failures = new ArrayList<>();
        for (int seed = 0; seed < 200; seed++) {
            Launch launch = GradientLaunches.launch(new Random(seed), 4);
            GradientCheck.Outcome outcome = GradientCheck.run(launch.pattern(), launch.problem(), new Random(seed), ELEMENTS_PER_GRADIENT);
            checked += outcome.checked();
            skipped += outcome.skipped();
            outcome.failures().forEach(f -> failures.add(f + "\n" + launch));
            outcome.nonZeroChecks().forEach((wrt, count) -> {
                if (count == 0) return;
                if (wrt instanceof Wrt.Operand) nonZero.merge(normName(launch.pattern().norm()), 1, Integer::sum);
                else for (LoadPartial p : DifferentiatePattern.differentiate(launch.pattern()).loads()) {
                    if (p.input().equals(((Wrt.Input) wrt).name())) nonZero.merge(p.section().spelling(), 1, Integer::sum);
                }
            });
        }
        assertEquals(List.of(), failures);
        System.out.println("finite differences: " + checked + " elements compared, " + skipped + " skipped as not smooth; gradients with non-zero elements compared, "
                + "by norm (q, k, v) and by section (inputs): " + nonZero);
        assertTrue(skipped * 20 < checked, "more than 5% of elements skipped");
        for (String kind : List.of("softmax", "softmax with sink", "sigmoid", "none")) {
            assertTrue(nonZero.getOrDefault(kind, 0) >= 10, () -> "few non-zero q/k/v gradients compared under " + kind + ": " + nonZero);
        }
        for (Section s : Section.values()) {
            assertTrue(nonZero.getOrDefault(s.spelling(), 0) >= 5, () -> "few non-zero input gradients compared from the " + s.spelling() + ": " + nonZero);
        }
    }

    private static String normName(Norm norm) {
        return switch (norm) {
            case Norm.Softmax(var sink) -> sink.isPresent() ? "softmax with sink" : "softmax";
            case Norm.Sigmoid s -> "sigmoid";
            case Norm.Identity i -> "none";
        };
    }

    @Provide
    Arbitrary<Launch> launches() {
        return GradientLaunches.launches(4);
    }
}
