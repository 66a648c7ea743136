package attnc.gen;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.ir.Expr;
import attnc.ir.Printer;
import attnc.launch.Binding;
import java.util.Random;
import java.util.function.UnaryOperator;

/** Checks that a rewrite keeps the value of every expression of a launch's pattern, at random points. */
public final class Agreement {
    private Agreement() {}

    /** Values agree exactly (NaN equal to NaN, 0.0 not equal to -0.0). */
    public static void rewriteKeepsValues(Launch launch, UnaryOperator<Expr> rewrite, int points, long seed) {
        Binding binding = Binding.of(launch.pattern(), launch.problem());
        ScalarEvaluator evaluator = ScalarEvaluator.of(binding, launch.problem().inputs());
        Random random = new Random(seed);
        for (Expr e : Sections.expressions(launch.pattern())) {
            Expr rewritten = rewrite.apply(e);
            assertEquals(e.type(), rewritten.type(), () -> "type changed: " + Printer.expr(e) + "  =>  " + Printer.expr(rewritten));
            for (int i = 0; i < points; i++) {
                Point at = RandomProblems.point(binding, random);
                Object before = evaluator.eval(e, at);
                Object after = evaluator.eval(rewritten, at);
                assertEquals(before, after, () -> "value changed at " + at + ":\n  " + Printer.expr(e) + "\n  =>  " + Printer.expr(rewritten));
            }
        }
    }
}
