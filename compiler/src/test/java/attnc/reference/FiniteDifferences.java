package attnc.reference;

import attnc.grad.FiniteDifference;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Problem;
import attnc.launch.Wrt;
import attnc.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link FiniteDifference} of the reference forward along one tensor element: the oracle for the
 * reference backward. The function is the loss L = Σ dOut ∘ out of {@link Reference#run}, in
 * double precision, on a problem whose float tensors lie on {@link FiniteDifference#onGrid}'s grid
 * and with steps of h = 2^-12. One evaluation of L is good to about 1e-13·(1 + Σ|dOut·out|), a
 * few hundred double roundings of its terms.
 */
final class FiniteDifferences {
    static final double STEP = 0x1p-12;

    private FiniteDifferences() {}

    /** The problem with every float tensor (q, k, v, float inputs) on the grid. */
    static Problem onGrid(Problem p) {
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        p.inputs().forEach((name, t) -> inputs.put(name, t.dtype().loadsAs() == Type.FLOAT ? FiniteDifference.onGrid(t) : t));
        return new Problem(FiniteDifference.onGrid(p.q()), FiniteDifference.onGrid(p.k()), FiniteDifference.onGrid(p.v()), inputs,
                p.params(), p.queryOffset());
    }

    /** L = Σ dOut ∘ out, and Σ |dOut ∘ out|, the scale of its rounding error. */
    record Loss(double value, double magnitude) {}

    static Loss loss(Pattern pattern, Problem problem, Tensor dOut) {
        double[] out = Reference.run(pattern, problem).out();
        double value = 0, magnitude = 0;
        for (int i = 0; i < out.length; i++) {
            double term = dOut.getDouble(i) * out[i];
            value += term;
            magnitude += Math.abs(term);
        }
        return new Loss(value, magnitude);
    }

    /** Finite differences of L along one element of one tensor (q, k, v or a float input) of an on-grid problem. */
    static FiniteDifference.Check at(Pattern pattern, Problem problem, Tensor dOut, Wrt wrt, int element, double analytic, Loss base) {
        return FiniteDifference.check(delta -> loss(pattern, moved(problem, wrt, element, delta), dOut).value(), base.value(), STEP,
                1e-13 * (1 + base.magnitude()), analytic);
    }

    /** A copy of the problem with one element of one float tensor moved by delta (exact on the grid). */
    static Problem moved(Problem p, Wrt wrt, int element, double delta) {
        return switch (wrt) {
            case Wrt.Operand op -> switch (op) {
                case Q -> new Problem(moved(p.q(), element, delta), p.k(), p.v(), p.inputs(), p.params(), p.queryOffset());
                case K -> new Problem(p.q(), moved(p.k(), element, delta), p.v(), p.inputs(), p.params(), p.queryOffset());
                case V -> new Problem(p.q(), p.k(), moved(p.v(), element, delta), p.inputs(), p.params(), p.queryOffset());
            };
            case Wrt.Input(String name) -> {
                Map<String, Tensor> inputs = new LinkedHashMap<>(p.inputs());
                inputs.put(name, moved(inputs.get(name), element, delta));
                yield new Problem(p.q(), p.k(), p.v(), inputs, p.params(), p.queryOffset());
            }
        };
    }

    private static Tensor moved(Tensor t, int element, double delta) {
        return FiniteDifference.moved(t, element, delta);
    }
}
