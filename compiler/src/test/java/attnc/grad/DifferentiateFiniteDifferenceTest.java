package attnc.grad;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.RandomProblems;
import attnc.gen.ScalarEvaluator;
import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Every derivative the pass gives is the derivative of its section, at random points of random
 * tame patterns, against {@link FiniteDifference}: d score/d s and d output/d o along s and o, and
 * each tensor element's partial (the sum over the load sites that read it at that point) along
 * the element. Expressions are evaluated by {@link ScalarEvaluator}, a tree walker apart from the
 * reference's evaluator. One evaluation of a moderate expression is good to ~1e-12 of its size.
 */
class DifferentiateFiniteDifferenceTest {
    private static final double STEP = 0x1p-12;
    private static final int POINTS = 4;

    @Property(tries = 1000)
    void partialsAreDerivatives(@ForAll("launches") Launch launch) {
        Pattern pattern = launch.pattern();
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        launch.problem().inputs().forEach((n, t) -> inputs.put(n, t.dtype().loadsAs() == Type.FLOAT ? FiniteDifference.onGrid(t) : t));
        Binding binding = Binding.of(pattern, launch.problem());
        Derivatives derivatives = DifferentiatePattern.differentiate(pattern);
        Random random = new Random(launch.toString().hashCode());
        List<String> failures = new ArrayList<>();
        for (Section section : Section.values()) {
            Expr e = expression(pattern, section);
            if (e == null) continue;
            for (int i = 0; i < POINTS; i++) {
                Point at = RandomProblems.point(binding, random);
                ScalarEvaluator evaluator = ScalarEvaluator.of(binding, inputs);
                double f0 = (Double) evaluator.eval(e, at);
                if (!Double.isFinite(f0)) continue;
                double noise = 1e-12 * (1 + Math.abs(f0));
                Expr byVariable = section == Section.SCORE ? derivatives.scoreByS() : section == Section.OUTPUT ? derivatives.outputByO() : null;
                if (byVariable != null) {
                    double analytic = (Double) evaluator.eval(byVariable, at);
                    FiniteDifference.Check check = FiniteDifference.check(
                            delta -> (Double) evaluator.eval(e, section == Section.SCORE ? withS(at, at.s() + delta) : withO(at, at.o() + delta)),
                            f0, STEP, noise, analytic);
                    if (check.smooth() && !check.agrees(analytic)) failures.add(section + " by its variable at " + at + ": " + analytic + " vs " + check.estimate());
                }
                // Sites reading the same element at this point add up: the element's partial is their sum.
                Map<List<Object>, Double> byElement = new LinkedHashMap<>();
                for (LoadPartial p : derivatives.loads(section)) {
                    int element = flatIndex(evaluator, p.load(), inputs.get(p.input()), at);
                    byElement.merge(List.of(p.input(), element), (Double) evaluator.eval(p.partial(), at), Double::sum);
                }
                byElement.forEach((key, analytic) -> {
                    String input = (String) key.get(0);
                    int element = (Integer) key.get(1);
                    FiniteDifference.Check check = FiniteDifference.check(delta -> {
                        Map<String, Tensor> moved = new HashMap<>(inputs);
                        moved.put(input, FiniteDifference.moved(inputs.get(input), element, delta));
                        return (Double) ScalarEvaluator.of(binding, moved).eval(e, at);
                    }, f0, STEP, noise, analytic);
                    if (check.smooth() && !check.agrees(analytic)) {
                        failures.add(section + " by " + input + "[" + element + "] at " + at + ": " + analytic + " vs " + check.estimate());
                    }
                });
            }
        }
        assertEquals(List.of(), failures, () -> launch + "\n" + derivatives);
    }

    private static Expr expression(Pattern p, Section section) {
        return switch (section) {
            case SCORE -> p.score();
            case SCALE -> p.scale();
            case OUTPUT -> p.output();
            case NORM -> switch (p.norm()) {
                case Norm.Softmax(var sink) -> sink.orElse(null);
                case Norm.Sigmoid(Expr bias) -> bias;
                case Norm.Identity none -> null;
            };
        };
    }

    private static int flatIndex(ScalarEvaluator evaluator, Expr.Load load, Tensor t, Point at) {
        int flat = 0;
        for (int i = 0; i < load.indices().size(); i++) flat = flat * t.dim(i) + (Integer) evaluator.eval(load.indices().get(i), at);
        return flat;
    }

    private static Point withS(Point p, double s) {
        return new Point(p.b(), p.h(), p.q(), p.kv(), p.d(), s, p.o());
    }

    private static Point withO(Point p, double o) {
        return new Point(p.b(), p.h(), p.q(), p.kv(), p.d(), p.s(), o);
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.tameLaunches(4);
    }
}
