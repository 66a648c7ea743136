package attnc.reference;

import attnc.grad.FiniteDifference;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;

/**
 * The reference backward of one launch against {@link FiniteDifferences} of the reference
 * forward: every gradient the pattern has, at every element or at a random sample of them.
 */
final class GradientCheck {
    private GradientCheck() {}

    /**
     * What was compared: elements held to the estimate, elements skipped as not smooth, the
     * elements with a non-zero gradient compared per gradient, and the disagreements.
     */
    record Outcome(int checked, int skipped, Map<Wrt, Integer> nonZeroChecks, List<String> failures) {}

    /**
     * Runs the check on the problem moved onto the finite-difference grid, with a random dOut.
     * {@code perGradient} elements of each gradient are compared (all of them when it has fewer,
     * or when perGradient is 0).
     */
    static Outcome run(Pattern pattern, Problem original, Random random, int perGradient) {
        Problem problem = FiniteDifferences.onGrid(original);
        Binding binding = Binding.of(pattern, problem);
        int[] outShape = {binding.size("B"), binding.size("H"), binding.size("Nq"), binding.size("Dv")};
        Tensor dOut = FiniteDifference.onGrid(Tensor.random(DType.FLOAT32, outShape, random));
        ReferenceBackward.Exact gradients = ReferenceBackward.run(pattern, problem, Reference.run(pattern, problem).toResult(), dOut,
                Wrt.all(pattern));
        FiniteDifferences.Loss base = FiniteDifferences.loss(pattern, problem, dOut);
        List<String> failures = new ArrayList<>();
        int checked = 0, skipped = 0;
        Map<Wrt, Integer> nonZero = new LinkedHashMap<>();
        for (Map.Entry<Wrt, double[]> entry : gradients.values().entrySet()) {
            Wrt wrt = entry.getKey();
            double[] analytic = entry.getValue();
            for (int i = 0; i < analytic.length; i++) {
                if (!Double.isFinite(analytic[i])) failures.add(wrt.label() + "[" + i + "] = " + analytic[i]);
            }
            for (int element : elements(analytic.length, perGradient, random)) {
                FiniteDifference.Check check = FiniteDifferences.at(pattern, problem, dOut, wrt, element, analytic[element], base);
                if (!check.smooth()) {
                    skipped++;
                    continue;
                }
                checked++;
                nonZero.merge(wrt, analytic[element] != 0 ? 1 : 0, Integer::sum);
                if (!check.agrees(analytic[element])) {
                    failures.add(wrt.label() + "[" + element + "]: backward " + analytic[element] + ", finite differences "
                            + check.estimate() + " (tolerance " + check.tolerance() + ")");
                }
            }
        }
        return new Outcome(checked, skipped, nonZero, failures);
    }

    private static int[] elements(int size, int wanted, Random random) {
        if (wanted == 0 || size <= wanted) return IntStream.range(0, size).toArray();
        return random.ints(0, size).distinct().limit(wanted).toArray();
    }
}
